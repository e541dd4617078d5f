package dev.inmesh.internal.balancing;

import dev.inmesh.Locality;
import dev.inmesh.internal.model.Endpoint;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/** Shorthands for balancer tests. */
final class Picks {
  private Picks() {}

  static Endpoint endpoint(String address) {
    return Endpoint.of(address, 8080);
  }

  static Endpoint endpoint(String address, int weight) {
    return new Endpoint(address, 8080, Locality.UNKNOWN, weight);
  }

  static Endpoint endpoint(String address, Locality locality) {
    return new Endpoint(address, 8080, locality, 1);
  }

  /** An endpoint as EDS places it: at {@code priority}, in a locality weighing {@code localityWeight}. */
  static Endpoint endpoint(String address, Locality locality, int priority, int localityWeight) {
    return new Endpoint(address, 8080, locality, 1, false, priority, localityWeight);
  }

  static PickRequest hashed(long hash) {
    return new PickRequest(OptionalLong.of(hash), Set.of());
  }

  static PickRequest retryAfter(Endpoint... tried) {
    return new PickRequest(OptionalLong.empty(), Set.of(tried));
  }

  static Endpoint pick(LoadBalancer balancer, PickRequest request) {
    return balancer.pick(request).orElseThrow(() -> new AssertionError("picked nothing for " + request));
  }

  static Endpoint pick(LoadBalancer balancer) {
    return pick(balancer, PickRequest.ANY);
  }

  /** How often each endpoint was picked in {@code picks} picks. */
  static Map<Endpoint, Integer> count(LoadBalancer balancer, PickRequest request, int picks) {
    Map<Endpoint, Integer> counts = new LinkedHashMap<>();
    for (int i = 0; i < picks; i++) {
      counts.merge(pick(balancer, request), 1, Integer::sum);
    }
    return counts;
  }

  static Map<Endpoint, Integer> count(LoadBalancer balancer, int picks) {
    return count(balancer, PickRequest.ANY, picks);
  }

  /** The fraction of all counted picks that went to {@code endpoint}. */
  static double share(Map<Endpoint, Integer> counts, Endpoint endpoint) {
    int total = counts.values().stream().mapToInt(Integer::intValue).sum();
    return counts.getOrDefault(endpoint, 0) / (double) total;
  }
}
