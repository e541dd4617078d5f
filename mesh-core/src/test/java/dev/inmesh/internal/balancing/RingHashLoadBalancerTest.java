package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.count;
import static dev.inmesh.internal.balancing.Picks.endpoint;
import static dev.inmesh.internal.balancing.Picks.hashed;
import static dev.inmesh.internal.balancing.Picks.pick;
import static dev.inmesh.internal.balancing.Picks.share;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.inmesh.internal.model.Endpoint;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class RingHashLoadBalancerTest {
  private static final int KEYS = 10_000;

  private final FakeEndpointState state = new FakeEndpointState();
  private final List<Endpoint> ten = IntStream.rangeClosed(1, 10).mapToObj(i -> endpoint("10.0.0." + i)).toList();

  @Test
  void sendsTheSameHashToTheSameEndpointFromEveryClient() {
    LoadBalancer one = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(1));
    LoadBalancer other = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(2));
    SplittableRandom keys = new SplittableRandom(3);

    for (int i = 0; i < 1_000; i++) {
      long hash = keys.nextLong();
      Endpoint first = pick(one, hashed(hash));
      assertThat(pick(one, hashed(hash))).isEqualTo(first);
      assertThat(pick(other, hashed(hash))).isEqualTo(first);
    }
  }

  @Test
  void spreadsKeysInProportionToWeight() {
    Endpoint heavy = endpoint("10.0.0.1", 3);
    Endpoint light = endpoint("10.0.0.2", 1);
    LoadBalancer balancer = RingHashLoadBalancer.of(List.of(heavy, light), state, 1024, new SplittableRandom(4));

    Map<Endpoint, Integer> counts = countKeys(balancer, new SplittableRandom(5));

    assertThat(share(counts, heavy)).isCloseTo(0.75, within(0.05));
  }

  @Test
  void movesOnlyTheRemovedEndpointsShareOfKeysWhenAnEndpointLeaves() {
    LoadBalancer before = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(6));
    Endpoint leaving = ten.get(3);
    List<Endpoint> rest = new ArrayList<>(ten);
    rest.remove(leaving);
    LoadBalancer after = RingHashLoadBalancer.of(rest, state, 1024, new SplittableRandom(7));

    SplittableRandom keys = new SplittableRandom(8);
    int moved = 0;
    int onLeaving = 0;
    for (int i = 0; i < KEYS; i++) {
      long hash = keys.nextLong();
      Endpoint was = pick(before, hashed(hash));
      onLeaving += was.equals(leaving) ? 1 : 0;
      moved += was.equals(pick(after, hashed(hash))) ? 0 : 1;
    }

    assertThat(onLeaving / (double) KEYS).isCloseTo(0.1, within(0.03));
    assertThat(moved).isEqualTo(onLeaving);
  }

  @Test
  void sendsARetryToADifferentEndpointThanTheFirstAttempt() {
    LoadBalancer balancer = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(9));
    SplittableRandom keys = new SplittableRandom(10);

    for (int i = 0; i < 1_000; i++) {
      long hash = keys.nextLong();
      Endpoint first = pick(balancer, hashed(hash));
      Endpoint retry = pick(balancer, new PickRequest(OptionalLong.of(hash), Set.of(first)));
      assertThat(retry).isNotEqualTo(first);
      // Every client retries the key on the same neighbour.
      assertThat(pick(balancer, new PickRequest(OptionalLong.of(hash), Set.of(first)))).isEqualTo(retry);
    }
  }

  @Test
  void movesAnEjectedEndpointsKeysToItsNeighbourAndBackWhenItRecovers() {
    LoadBalancer balancer = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(11));
    long hash = 42;
    Endpoint owner = pick(balancer, hashed(hash));

    state.eject(owner);
    Endpoint neighbour = pick(balancer, hashed(hash));
    assertThat(neighbour).isNotEqualTo(owner);
    assertThat(countKeys(balancer, new SplittableRandom(12))).doesNotContainKey(owner);

    state.restore(owner);
    assertThat(pick(balancer, hashed(hash))).isEqualTo(owner);
  }

  @Test
  void keepsHashingToTheRingWhenAllEndpointsAreEjected() {
    LoadBalancer balancer = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(13));
    Endpoint owner = pick(balancer, hashed(7));
    state.eject(ten.toArray(Endpoint[]::new));

    assertThat(pick(balancer, hashed(7))).isEqualTo(owner);
    assertThat(countKeys(balancer, new SplittableRandom(14))).hasSize(ten.size());
  }

  @Test
  void picksAtRandomWhenTheRequestHasNoHash() {
    LoadBalancer balancer = RingHashLoadBalancer.of(ten, state, 1024, new SplittableRandom(15));

    Map<Endpoint, Integer> counts = count(balancer, KEYS);

    assertThat(counts).hasSize(ten.size());
    for (Endpoint endpoint : ten) {
      assertThat(share(counts, endpoint)).as(endpoint.toString()).isCloseTo(0.1, within(0.04));
    }
  }

  @Test
  void buildsARingOfAtLeastTheMinimumSizeWithEveryEndpointOnIt() {
    RingHashLoadBalancer small = RingHashLoadBalancer.of(ten, state, 1, new SplittableRandom(16));
    RingHashLoadBalancer large = RingHashLoadBalancer.of(ten, state, 5000, new SplittableRandom(17));

    assertThat(small.ringSize()).isGreaterThanOrEqualTo(ten.size());
    assertThat(countKeys(small, new SplittableRandom(18))).hasSize(ten.size());
    assertThat(large.ringSize()).isBetween(5000, 2 * 5000);
  }

  @Test
  void givesTheLightestEndpointWholeEntriesWhenWeightsAreUneven() {
    Endpoint heavy = endpoint("10.0.0.1", 1000);
    Endpoint light = endpoint("10.0.0.2", 1);
    RingHashLoadBalancer balancer = RingHashLoadBalancer.of(List.of(heavy, light), state, 16, new SplittableRandom(19));

    assertThat(balancer.ringSize()).isGreaterThanOrEqualTo(1001);
    assertThat(countKeys(balancer, new SplittableRandom(20))).containsKey(light);
  }

  @Test
  void hashesDistinctKeysToDistinctWellSpreadValues() {
    Set<Long> hashes = new HashSet<>();
    int upperHalf = 0;
    for (int i = 0; i < KEYS; i++) {
      long hash = RingHashLoadBalancer.hash("10.0.0.1:8080#" + i);
      hashes.add(hash);
      upperHalf += hash < 0 ? 1 : 0;
    }

    assertThat(hashes).hasSize(KEYS);
    assertThat(upperHalf / (double) KEYS).isCloseTo(0.5, within(0.02));
    assertThat(RingHashLoadBalancer.hash("héllo wörld ✓ 𝄞")).isEqualTo(RingHashLoadBalancer.hash("héllo wörld ✓ 𝄞"));
    assertThat(RingHashLoadBalancer.hash("a")).isNotEqualTo(RingHashLoadBalancer.hash("b"));
  }

  @Test
  void picksNothingFromAnEmptyList() {
    assertThat(RingHashLoadBalancer.of(List.of(), state, 1024, new SplittableRandom(21)).pick(hashed(1))).isEmpty();
  }

  @Test
  void rejectsARingSizeOutOfRangeQuotingTheValue() {
    assertThatThrownBy(() -> RingHashLoadBalancer.of(ten, state, 0, new SplittableRandom(22)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("got 0");
  }

  private static Map<Endpoint, Integer> countKeys(LoadBalancer balancer, SplittableRandom keys) {
    Map<Endpoint, Integer> counts = new LinkedHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      counts.merge(pick(balancer, hashed(keys.nextLong())), 1, Integer::sum);
    }
    return counts;
  }
}
