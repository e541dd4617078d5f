package dev.inmesh.internal.outbound;

import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteTable;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Route: the listener for the host the caller dialled (none: not a mesh host, the call passes
 * through), the first matching route of its virtual host, then what the route does: answer directly,
 * redirect, or forward to a cluster picked by weight.
 */
final class RouteStage implements Stage {
  private final RandomGenerator random;

  RouteStage(RandomGenerator random) {
    this.random = random;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    var request = call.request;
    int defaultPort = request.scheme().equals("https") ? 443 : 80;
    Optional<ListenerConfig> listener = call.snapshot.listener(request.host(), request.port(), defaultPort);
    if (listener.isEmpty()) {
      return call.transport.passThrough();
    }
    call.explain.listener(listener.get().name());
    Optional<RouteTable> table = call.snapshot.routeTable(listener.get());
    if (table.isEmpty()) {
      return call.fail(503, "NR", "route configuration " + listener.get().routeConfigName() + " has not arrived");
    }
    Optional<RouteTable.Matched> matched = table.get().route(listener.get().name(), request);
    if (matched.isEmpty()) {
      return call.fail(404, "NR", "no route matched");
    }
    call.explain.route(matched.get().route().name());
    RouteAction action = matched.get().route().action();
    if (action instanceof RouteAction.DirectResponse direct) {
      return call.respond(direct.status(), direct.body(), Map.of(), "DR");
    }
    if (action instanceof RouteAction.Redirect redirect) {
      String location = redirect.location(request.scheme(), request.host(), request.port(), request.path());
      return call.respond(redirect.status(), "", Map.of("location", location), "RD");
    }
    call.matched = matched.get();
    call.route = (RouteAction.Forward) action;
    call.target = pickWeighted(call.route);
    call.explain.cluster(call.target.name());
    return call.proceed();
  }

  private RouteAction.WeightedCluster pickWeighted(RouteAction.Forward route) {
    if (route.clusters().size() == 1) {
      return route.clusters().get(0);
    }
    int roll = random.nextInt(route.totalWeight());
    for (RouteAction.WeightedCluster cluster : route.clusters()) {
      roll -= cluster.weight();
      if (roll < 0) {
        return cluster;
      }
    }
    return route.clusters().get(route.clusters().size() - 1);
  }
}
