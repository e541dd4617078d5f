package dev.inmesh.internal.outbound;

import dev.inmesh.internal.balancing.PickRequest;
import dev.inmesh.internal.balancing.RingHashLoadBalancer;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.routing.RouteAction;
import java.io.IOException;
import java.util.HashSet;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Balance: the cluster's balancer picks an endpoint (503 UH when none is healthy), another one than
 * those already tried when it can, keyed by the route's hash policy for a ring hash.
 */
final class BalanceStage implements Stage {
  private final SnapshotSource workload;

  BalanceStage(SnapshotSource workload) {
    this.workload = workload;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    if (call.hash == null) {
      call.hash = hash(call.route, call);
    }
    Optional<Endpoint> picked = call.cluster.balancer().pick(call.tried.isEmpty() && call.hash.isEmpty()
        ? PickRequest.ANY : new PickRequest(call.hash, call.tried));
    if (picked.isEmpty()) {
      return call.fail(503, "UH", "no healthy upstream");
    }
    Endpoint endpoint = picked.get();
    call.endpoint = endpoint;
    call.tried = tried(call.tried, endpoint);
    return call.proceed();
  }

  /** The endpoints tried so far, with one more; a call that is not retried makes one small set. */
  private static Set<Endpoint> tried(Set<Endpoint> before, Endpoint endpoint) {
    if (before.isEmpty()) {
      return Set.of(endpoint);
    }
    Set<Endpoint> all = new HashSet<>(before);
    all.add(endpoint);
    return Set.copyOf(all);
  }

  private OptionalLong hash(RouteAction.Forward route, OutboundCall<?> call) {
    for (RouteAction.HashPolicy policy : route.hashPolicies()) {
      Optional<String> key = switch (policy.kind()) {
        case HEADER -> call.request.header(policy.name());
        case COOKIE -> call.request.header("cookie").flatMap(cookies -> cookie(cookies, policy.name()));
        case QUERY_PARAMETER -> call.request.queryParameter(policy.name());
        case SOURCE_IP -> Optional.of(workload.sourceAddress());
      };
      if (key.isPresent()) {
        // the ring's own hash: FNV-1a alone leaves keys that differ in their last character close
        // together on the ring, so similar user ids would all land on one endpoint
        return OptionalLong.of(RingHashLoadBalancer.hash(key.get()));
      }
    }
    return OptionalLong.empty();
  }

  private static Optional<String> cookie(String header, String name) {
    for (String part : header.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0 && part.substring(0, eq).trim().equals(name)) {
        return Optional.of(part.substring(eq + 1).trim());
      }
    }
    return Optional.empty();
  }
}
