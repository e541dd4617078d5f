package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.count;
import static dev.inmesh.internal.balancing.Picks.endpoint;
import static dev.inmesh.internal.balancing.Picks.hashed;
import static dev.inmesh.internal.balancing.Picks.pick;
import static dev.inmesh.internal.balancing.Picks.retryAfter;
import static dev.inmesh.internal.balancing.Picks.share;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.inmesh.Locality;
import dev.inmesh.internal.model.Endpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LocalityAwareLoadBalancerTest {
  private final Locality zoneB = Locality.parse("us-east1/us-east1-b");
  private final Locality zoneC = Locality.parse("us-east1/us-east1-c");
  private final Locality remoteRegion = Locality.parse("eu-west1/eu-west1-a");
  private final Endpoint local1 = endpoint("10.0.0.1", zoneB, 0, 2);
  private final Endpoint local2 = endpoint("10.0.0.2", zoneB, 0, 2);
  private final Endpoint sameRegion = endpoint("10.0.1.1", zoneC, 1, 1);
  private final Endpoint remote = endpoint("10.0.2.1", remoteRegion, 2, 1);
  private final List<Endpoint> endpoints = List.of(remote, sameRegion, local1, local2);
  private final FakeEndpointState state = new FakeEndpointState();
  private final LoadBalancer balancer = roundRobin(endpoints);

  private LoadBalancer roundRobin(List<Endpoint> endpoints) {
    return LocalityAwareLoadBalancer.of(LocalityPriorities.of(endpoints), state,
        level -> RoundRobinLoadBalancer.of(level, state, new SplittableRandom(1)),
        LocalityAwareLoadBalancer.LocalityWeighing.BY_WEIGHT, new Random(7));
  }

  private static List<Endpoint> tenAt(String prefix, Locality locality, int priority, int localityWeight) {
    return IntStream.rangeClosed(1, 10).mapToObj(i -> endpoint(prefix + i, locality, priority, localityWeight)).toList();
  }

  @Test
  void keepsTrafficAtPriorityZero() {
    assertThat(count(balancer, 100)).containsOnlyKeys(local1, local2).containsEntry(local1, 50);
  }

  @Test
  void keepsEveryCallAtPriorityZeroWhileItsHealthyShareTimesTheOverprovisioningFactorReachesAHundred() {
    List<Endpoint> near = tenAt("10.0.0.", zoneB, 0, 10);
    List<Endpoint> far = tenAt("10.0.1.", zoneC, 1, 10);
    List<Endpoint> all = new ArrayList<>(near);
    all.addAll(far);
    LoadBalancer balancer = roundRobin(all);
    state.eject(near.get(0), near.get(1)); // 8 of 10 healthy: 8 * 1.4 = 112 %, so still all of it

    assertThat(count(balancer, 1_000).keySet()).allMatch(near::contains);
  }

  @Test
  void spillsWhatPriorityZeroLacksToTheNextPriorityAsEnvoysPriorityLoadDoes() {
    List<Endpoint> near = tenAt("10.0.0.", zoneB, 0, 10);
    List<Endpoint> far = tenAt("10.0.1.", zoneC, 1, 10);
    List<Endpoint> all = new ArrayList<>(near);
    all.addAll(far);
    LoadBalancer balancer = roundRobin(all);
    state.eject(near.subList(0, 5).toArray(Endpoint[]::new)); // 5 of 10 healthy: 70 % stays, 30 % spills

    Map<Endpoint, Integer> counts = count(balancer, 20_000);

    double nearShare = near.stream().mapToDouble(e -> share(counts, e)).sum();
    assertThat(nearShare).isCloseTo(0.70, within(0.03));
  }

  @Test
  void failsOverToTheNextPriorityWhenPriorityZeroIsAllEjected() {
    state.eject(local1, local2);
    assertThat(count(balancer, 100)).containsOnlyKeys(sameRegion);

    state.eject(sameRegion);
    assertThat(count(balancer, 100)).containsOnlyKeys(remote);
  }

  @Test
  void comesBackToPriorityZeroWhenItRecovers() {
    state.eject(local1, local2);
    assertThat(pick(balancer)).isEqualTo(sameRegion);

    state.restore(local1, local2);

    assertThat(count(balancer, 100)).containsOnlyKeys(local1, local2);
  }

  @Test
  void spreadsOverEveryPriorityWhenAllEndpointsAreEjected() {
    state.eject(local1, local2, sameRegion, remote);

    assertThat(count(balancer, 100)).containsOnlyKeys(endpoints.toArray(Endpoint[]::new));
  }

  @Test
  void sendsARetryToTheNextPriorityOnlyWhenEveryHealthyEndpointBeforeItWasTried() {
    assertThat(pick(balancer, retryAfter(local1))).isEqualTo(local2);
    assertThat(pick(balancer, retryAfter(local1, local2))).isEqualTo(sameRegion);

    state.eject(sameRegion);
    assertThat(pick(balancer, retryAfter(local1, local2))).isEqualTo(remote);
  }

  @Test
  void retriesATriedEndpointWhenNoOtherIsHealthy() {
    state.eject(local2, sameRegion, remote);

    assertThat(pick(balancer, retryAfter(local1))).isEqualTo(local1);
  }

  @Test
  void splitsAPriorityByItsLocalityWeights() {
    Endpoint a = endpoint("10.0.0.1", zoneB, 0, 80);
    Endpoint b1 = endpoint("10.0.1.1", zoneC, 0, 20);
    Endpoint b2 = endpoint("10.0.1.2", zoneC, 0, 20);
    LoadBalancer balancer = roundRobin(List.of(a, b1, b2));

    Map<Endpoint, Integer> counts = count(balancer, 20_000);

    assertThat(share(counts, a)).isCloseTo(0.80, within(0.02));
    assertThat(share(counts, b1) + share(counts, b2)).isCloseTo(0.20, within(0.02));
  }

  @Test
  void weighsALocalityByItsHealthyShare() {
    List<Endpoint> zoneBEndpoints = tenAt("10.0.0.", zoneB, 0, 50);
    List<Endpoint> zoneCEndpoints = tenAt("10.0.1.", zoneC, 0, 50);
    List<Endpoint> all = new ArrayList<>(zoneBEndpoints);
    all.addAll(zoneCEndpoints);
    LoadBalancer balancer = roundRobin(all);
    state.eject(zoneBEndpoints.subList(0, 5).toArray(Endpoint[]::new)); // zone b weighs 50 * 0.7 = 35 against 50

    Map<Endpoint, Integer> counts = count(balancer, 20_000);

    double zoneBShare = zoneBEndpoints.stream().mapToDouble(e -> share(counts, e)).sum();
    assertThat(zoneBShare).isCloseTo(35.0 / 85, within(0.03));
  }

  @Test
  void aRingHashKeepsAKeyOnOneEndpointWhileItsPriorityIsHealthy() {
    LoadBalancer ring = LocalityAwareLoadBalancer.of(LocalityPriorities.of(endpoints), state,
        level -> RingHashLoadBalancer.of(level, state, 1024, new SplittableRandom(1)),
        LocalityAwareLoadBalancer.LocalityWeighing.IGNORED, new Random(7));

    assertThat(count(ring, hashed(42), 100)).hasSize(1).containsAnyOf(
        Map.entry(local1, 100), Map.entry(local2, 100));
  }
}
