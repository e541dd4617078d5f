package dev.inmesh.internal.outbound;

import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.VirtualHost;
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
    if (call.options.gatewayRoutes().isPresent()) {
      return gateway(call, call.options.gatewayRoutes().get());
    }
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
    return act(call, matched.get());
  }

  /**
   * A request that arrived on a gateway server: its route configuration, the virtual host for the
   * request's host (the port stripped, as Istio's gateways do), and the host's TLS requirement.
   * Nothing passes through: a host no virtual host names is answered 404, as Envoy does.
   */
  private <R> R gateway(OutboundCall<R> call, String routeConfigName) throws IOException {
    var request = call.request;
    call.explain.listener(routeConfigName);
    Optional<RouteTable> table = Optional.ofNullable(call.snapshot.resources().routes().get(routeConfigName));
    if (table.isEmpty()) {
      return call.fail(404, "NR", "route configuration " + routeConfigName + " has not arrived");
    }
    Optional<RouteTable.Matched> matched = table.get().route(request.host(), request);
    if (matched.isEmpty()) {
      return call.fail(404, "NR", "no route matched");
    }
    if (matched.get().virtualHost().tlsRequirement() == VirtualHost.TlsRequirement.ALL && !request.scheme().equals("https")) {
      // Envoy's require_tls: the same authority, path and query, over https
      String authority = request.header("host").orElse(request.host());
      String query = request.rawQuery().map(q -> "?" + q).orElse("");
      return call.respond(301, "", Map.of("location", "https://" + authority + request.path() + query), "-");
    }
    return act(call, matched.get());
  }

  private <R> R act(OutboundCall<R> call, RouteTable.Matched matched) throws IOException {
    var request = call.request;
    call.explain.route(matched.route().name());
    RouteAction action = matched.route().action();
    if (action instanceof RouteAction.DirectResponse direct) {
      return call.respond(direct.status(), direct.body(), Map.of(), "DR");
    }
    if (action instanceof RouteAction.Redirect redirect) {
      String location = redirect.location(request.scheme(), request.host(), request.port(), request.path(),
          request.rawQuery());
      return call.respond(redirect.status(), "", Map.of("location", location), "RD");
    }
    call.matched = matched;
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
