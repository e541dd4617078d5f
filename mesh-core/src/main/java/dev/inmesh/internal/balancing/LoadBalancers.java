package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * Builds a cluster's balancer. Every policy follows the same rules:
 *
 * <ul>
 *   <li>only healthy endpoints are picked, by EDS priority and locality weight (see {@link
 *       LocalityAwareLoadBalancer});
 *   <li>when no endpoint is healthy, any endpoint is picked (Envoy's panic mode), so that a fully
 *       ejected cluster still gets traffic;
 *   <li>endpoints a retry already tried are avoided while another candidate exists;
 *   <li>an empty endpoint list picks nothing.
 * </ul>
 */
public final class LoadBalancers {
  private static final LoadBalancer NONE = request -> Optional.empty();

  private LoadBalancers() {}

  /**
   * @param endpoints with their EDS priorities and locality weights, which the control plane set
   *     relative to where this client runs
   * @param random the only source of randomness; shared by every pick, so it must be safe for
   *     concurrent use when the balancer is (a {@code java.util.Random}, not a {@code
   *     SplittableRandom})
   */
  public static LoadBalancer create(
      BalancerConfig config,
      List<Endpoint> endpoints,
      EndpointState state,
      RandomGenerator random) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(random, "random");
    if (endpoints.isEmpty()) {
      return NONE;
    }
    Function<List<Endpoint>, LoadBalancer> policy = level -> switch (config.policy()) {
      case ROUND_ROBIN -> RoundRobinLoadBalancer.of(level, state, random);
      case LEAST_REQUEST -> LeastRequestLoadBalancer.of(level, state, config.choiceCount(), random);
      case RANDOM -> RandomLoadBalancer.of(level, state, random);
      case RING_HASH -> RingHashLoadBalancer.of(level, state, config.minimumRingSize(), random);
    };
    LocalityPriorities priorities = LocalityPriorities.of(endpoints);
    // a ring hash keys on the request across a whole level: a locality chosen first would break its affinity
    LocalityAwareLoadBalancer.LocalityWeighing weighing = config.policy() == BalancerConfig.Policy.RING_HASH
        ? LocalityAwareLoadBalancer.LocalityWeighing.IGNORED : LocalityAwareLoadBalancer.LocalityWeighing.BY_WEIGHT;
    if (priorities.levels().size() == 1
        && (weighing == LocalityAwareLoadBalancer.LocalityWeighing.IGNORED || !priorities.levels().get(0).weighsLocalities())) {
      return policy.apply(endpoints);
    }
    return LocalityAwareLoadBalancer.of(priorities, state, policy, weighing, random);
  }
}
