package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Envoy's least request: draws {@code choiceCount} endpoints at random (with replacement, as Envoy
 * does) and takes the one with the fewest requests in flight; equal candidates are chosen between
 * at random.
 *
 * <p>Weights enter the comparison, not the draw: a candidate's load is {@code (active + 1) /
 * weight}, the inverse of Envoy's effective weight {@code weight / (active + 1)} with its default
 * {@code active_request_bias} of 1. With equal weights that is plain "fewest active requests";
 * with unequal ones an idle heavy endpoint beats an idle light one. Envoy switches to an EDF
 * scheduler when weights differ; one rule for both cases is simpler and keeps a pick free of
 * locks and allocation.
 */
public final class LeastRequestLoadBalancer implements LoadBalancer {
  private final EndpointSet endpoints;
  private final int choiceCount;
  private final RandomGenerator random;

  private LeastRequestLoadBalancer(EndpointSet endpoints, int choiceCount, RandomGenerator random) {
    if (choiceCount < 2) {
      throw new IllegalArgumentException("choiceCount must be at least 2, got " + choiceCount);
    }
    this.endpoints = endpoints;
    this.choiceCount = choiceCount;
    this.random = Objects.requireNonNull(random, "random");
  }

  /** {@code random} must be safe to share between threads if the balancer is. */
  public static LeastRequestLoadBalancer of(
      List<Endpoint> endpoints, EndpointState state, int choiceCount, RandomGenerator random) {
    return new LeastRequestLoadBalancer(new EndpointSet(endpoints, state), choiceCount, random);
  }

  @Override
  public Optional<Endpoint> pick(PickRequest request) {
    if (endpoints.isEmpty()) {
      return Optional.empty();
    }
    int filter = endpoints.filter(request.tried());
    int admitted = 0;
    for (int i = 0; i < endpoints.size(); i++) {
      if (endpoints.admits(filter, i, request.tried())) {
        admitted++;
      }
    }
    if (admitted == 0) {
      // Health changed between the two walks; any endpoint beats none.
      return endpoints.choice(random.nextInt(endpoints.size()));
    }
    int best = -1;
    long bestActive = 0;
    int ties = 0;
    for (int choice = 0; choice < choiceCount; choice++) {
      int candidate = nthAdmitted(filter, random.nextInt(admitted), admitted, request);
      long active = endpoints.activeRequests(candidate);
      if (best < 0) {
        best = candidate;
        bestActive = active;
        ties = 1;
        continue;
      }
      // (active + 1) / weight, compared by cross-multiplying to stay in exact integers.
      int order = Long.compare(
          (active + 1) * endpoints.get(best).weight(), (bestActive + 1) * endpoints.get(candidate).weight());
      if (order < 0) {
        best = candidate;
        bestActive = active;
        ties = 1;
      } else if (order == 0 && random.nextInt(++ties) == 0) {
        best = candidate;
        bestActive = active;
      }
    }
    return endpoints.choice(best);
  }

  private int nthAdmitted(int filter, int n, int admitted, PickRequest request) {
    if (admitted == endpoints.size()) {
      return n;
    }
    int seen = 0;
    int last = 0;
    for (int i = 0; i < endpoints.size(); i++) {
      if (endpoints.admits(filter, i, request.tried())) {
        if (seen++ == n) {
          return i;
        }
        last = i;
      }
    }
    return last;
  }
}
