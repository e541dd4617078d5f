package dev.inmesh.balancing;

import dev.inmesh.model.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Istio's locality failover: picks from the nearest {@link LocalityPriorities level} that has a
 * healthy endpoint, with that level's own balancer, and fails over to the next level while it has
 * none. Health is read on every pick, so traffic returns as soon as a nearer endpoint recovers.
 *
 * <p>A retry moves to a farther level when every healthy endpoint of the nearer ones has been
 * tried, because another endpoint is likelier to answer than the same one again. When no endpoint
 * at any level is healthy, the pick goes to a balancer over all endpoints, which then picks among
 * all of them (panic mode): a fully ejected cluster still gets traffic, spread over every locality.
 */
public final class LocalityAwareLoadBalancer implements LoadBalancer {
  private final List<EndpointSet> levels;
  private final List<LoadBalancer> balancers;
  private final LoadBalancer panic;

  private LocalityAwareLoadBalancer(
      List<EndpointSet> levels, List<LoadBalancer> balancers, LoadBalancer panic) {
    this.levels = levels;
    this.balancers = balancers;
    this.panic = panic;
  }

  /**
   * @param policy builds the balancer within one level, and the one over all endpoints for panic
   */
  public static LocalityAwareLoadBalancer of(
      LocalityPriorities priorities, EndpointState state, Function<List<Endpoint>, LoadBalancer> policy) {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(policy, "policy");
    List<Endpoint> all = priorities.levels().stream().flatMap(List::stream).toList();
    return new LocalityAwareLoadBalancer(
        priorities.levels().stream().map(level -> new EndpointSet(level, state)).toList(),
        priorities.levels().stream().map(policy).toList(),
        policy.apply(all));
  }

  @Override
  public Optional<Endpoint> pick(PickRequest request) {
    Set<Endpoint> tried = request.tried();
    if (!tried.isEmpty()) {
      int level = nearestAdmitting(EndpointSet.REQUIRE_HEALTHY | EndpointSet.REQUIRE_UNTRIED, tried);
      if (level >= 0) {
        return balancers.get(level).pick(request);
      }
    }
    int level = nearestAdmitting(EndpointSet.REQUIRE_HEALTHY, tried);
    return level >= 0 ? balancers.get(level).pick(request) : panic.pick(request);
  }

  private int nearestAdmitting(int filter, Set<Endpoint> tried) {
    for (int level = 0; level < levels.size(); level++) {
      if (levels.get(level).anyAdmitted(filter, tried)) {
        return level;
      }
    }
    return -1;
  }
}
