package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * Envoy's priority levels and locality weights, as EDS gives them (Istio's locality failover and
 * weighted distribution are both written into EDS by the control plane).
 *
 * <p>A level's health is the share of its endpoints that are healthy, times the overprovisioning
 * factor 1.4, at most 100 %. Levels take load in order, each up to its health: all of it goes to
 * priority 0 while at least 5 of its 7 endpoints are healthy, and as more are ejected the rest
 * spills to the next level (Envoy's priority load). When the levels' health adds up to less than
 * 100 % the loads are scaled up to fill it. Within a level, a locality is chosen by its EDS weight
 * times its own health (likewise overprovisioned, at most 1), then an endpoint by the cluster's
 * policy; a ring hash keys on the request's hash across the whole level instead, and also chooses
 * the level by that hash, so a key keeps its endpoint.
 *
 * <p>A retry goes to the nearest level that still has a healthy endpoint it has not tried, because
 * another endpoint is likelier to answer than the same one again. When no endpoint at any level is
 * healthy, the pick goes to a balancer over all endpoints (panic mode): a fully ejected cluster
 * still gets traffic, spread over every level.
 */
public final class LocalityAwareLoadBalancer implements LoadBalancer {
  /** Envoy's default overprovisioning factor, in percent. */
  static final int OVERPROVISIONING_PERCENT = 140;

  private final List<EndpointSet> levels;
  private final List<LoadBalancer> balancers;
  /** Per level, its localities and their balancers; empty where the level is not weighed by locality. */
  private final List<List<EndpointSet>> localities;
  private final List<List<LoadBalancer>> localityBalancers;
  private final List<int[]> localityWeights;
  private final LoadBalancer panic;
  private final RandomGenerator random;

  private LocalityAwareLoadBalancer(List<EndpointSet> levels, List<LoadBalancer> balancers,
      List<List<EndpointSet>> localities, List<List<LoadBalancer>> localityBalancers, List<int[]> localityWeights,
      LoadBalancer panic, RandomGenerator random) {
    this.levels = levels;
    this.balancers = balancers;
    this.localities = localities;
    this.localityBalancers = localityBalancers;
    this.localityWeights = localityWeights;
    this.panic = panic;
    this.random = random;
  }

  /**
   * @param policy builds the balancer within one level or locality, and the one over all endpoints for panic
   * @param weighLocalities whether levels with locality weights choose a locality first (not for a ring hash)
   */
  static LocalityAwareLoadBalancer of(LocalityPriorities priorities, EndpointState state,
      Function<List<Endpoint>, LoadBalancer> policy, LocalityWeighing weighLocalities, RandomGenerator random) {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(random, "random");
    List<LocalityPriorities.Level> levels = priorities.levels();
    List<Endpoint> all = levels.stream().flatMap(level -> level.endpoints().stream()).toList();
    List<LocalityPriorities.Level> weighed = levels.stream()
        .map(level -> weighLocalities == LocalityWeighing.BY_WEIGHT && level.weighsLocalities() ? level : null)
        .toList();
    return new LocalityAwareLoadBalancer(
        levels.stream().map(level -> new EndpointSet(level.endpoints(), state)).toList(),
        levels.stream().map(level -> policy.apply(level.endpoints())).toList(),
        weighed.stream().map(level -> level == null ? List.<EndpointSet>of()
            : level.localities().stream().map(locality -> new EndpointSet(locality, state)).toList()).toList(),
        weighed.stream().map(level -> level == null ? List.<LoadBalancer>of()
            : level.localities().stream().map(policy).toList()).toList(),
        weighed.stream().map(level -> level == null ? new int[0]
            : level.localityWeights().stream().mapToInt(Integer::intValue).toArray()).toList(),
        policy.apply(all),
        random);
  }

  /** Whether a level with locality weights is balanced locality first. */
  enum LocalityWeighing { BY_WEIGHT, IGNORED }

  @Override
  public Optional<Endpoint> pick(PickRequest request) {
    Set<Endpoint> tried = request.tried();
    if (!tried.isEmpty()) {
      for (int level = 0; level < levels.size(); level++) {
        if (levels.get(level).anyAdmitted(EndpointSet.REQUIRE_HEALTHY | EndpointSet.REQUIRE_UNTRIED, tried)) {
          return balancers.get(level).pick(request);
        }
      }
    }
    int level = chooseLevel(request);
    return level >= 0 ? pickIn(level, request) : panic.pick(request);
  }

  /** Envoy's priority load: the level a draw from 0 to 99 falls in, or -1 when no level is healthy. */
  private int chooseLevel(PickRequest request) {
    int availability = 0;
    for (EndpointSet level : levels) {
      availability += health(level);
    }
    availability = Math.min(100, availability);
    if (availability == 0) {
      return -1;
    }
    int draw = request.hash().isPresent()
        ? (int) Long.remainderUnsigned(request.hash().getAsLong(), 100) : random.nextInt(100);
    int remaining = 100;
    int reached = 0;
    int lastHealthy = -1;
    for (int i = 0; i < levels.size(); i++) {
      int health = health(levels.get(i));
      int load = Math.min(remaining, health * 100 / availability);
      remaining -= load;
      reached += load;
      if (health > 0) {
        lastHealthy = i;
        if (draw < reached) {
          return i;
        }
      }
    }
    return lastHealthy; // what rounding left over
  }

  private Optional<Endpoint> pickIn(int level, PickRequest request) {
    List<EndpointSet> sets = localities.get(level);
    if (sets.isEmpty()) {
      return balancers.get(level).pick(request);
    }
    int[] weights = localityWeights.get(level);
    double total = 0;
    for (int i = 0; i < sets.size(); i++) {
      total += effectiveWeight(weights[i], sets.get(i));
    }
    if (total <= 0) {
      return balancers.get(level).pick(request);
    }
    double draw = random.nextDouble() * total;
    for (int i = 0; i < sets.size(); i++) {
      double weight = effectiveWeight(weights[i], sets.get(i));
      if (weight > 0 && (draw < weight || i == sets.size() - 1)) {
        return localityBalancers.get(level).get(i).pick(request);
      }
      draw -= weight;
    }
    return balancers.get(level).pick(request);
  }

  /** A locality's weight times its health, overprovisioned and at most 1 (Envoy's effective locality weight). */
  private static double effectiveWeight(int weight, EndpointSet locality) {
    return weight * health(locality) / 100.0;
  }

  /** The healthy share of {@code set}, times the overprovisioning factor, in percent, at most 100. */
  static int health(EndpointSet set) {
    int healthy = 0;
    for (int i = 0; i < set.size(); i++) {
      if (set.isHealthy(i)) {
        healthy++;
      }
    }
    return Math.min(100, healthy * OVERPROVISIONING_PERCENT / set.size());
  }
}
