package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Picks an endpoint at random, each with a chance proportional to its weight among the endpoints
 * the pick may choose (see {@link LoadBalancers} for the rules every policy shares).
 *
 * <p>Each pick walks the endpoint list twice without allocating; health is read live, so an
 * ejection counts from the next pick on.
 */
public final class RandomLoadBalancer implements LoadBalancer {
  private final EndpointSet endpoints;
  private final RandomGenerator random;

  private RandomLoadBalancer(EndpointSet endpoints, RandomGenerator random) {
    this.endpoints = endpoints;
    this.random = Objects.requireNonNull(random, "random");
  }

  /** {@code random} must be safe to share between threads if the balancer is. */
  public static RandomLoadBalancer of(List<Endpoint> endpoints, EndpointState state, RandomGenerator random) {
    return new RandomLoadBalancer(new EndpointSet(endpoints, state), random);
  }

  @Override
  public Optional<Endpoint> pick(PickRequest request) {
    if (endpoints.isEmpty()) {
      return Optional.empty();
    }
    int filter = endpoints.filter(request.tried());
    long total = 0;
    for (int i = 0; i < endpoints.size(); i++) {
      if (endpoints.admits(filter, i, request.tried())) {
        total += endpoints.get(i).weight();
      }
    }
    if (total == 0) {
      // Health changed between the two walks; any endpoint beats none.
      return endpoints.choice(random.nextInt(endpoints.size()));
    }
    long remaining = random.nextLong(total);
    int last = 0;
    for (int i = 0; i < endpoints.size(); i++) {
      if (endpoints.admits(filter, i, request.tried())) {
        remaining -= endpoints.get(i).weight();
        last = i;
        if (remaining < 0) {
          return endpoints.choice(i);
        }
      }
    }
    return endpoints.choice(last);
  }
}
