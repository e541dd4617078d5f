package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.count;
import static dev.inmesh.internal.balancing.Picks.endpoint;
import static dev.inmesh.internal.balancing.Picks.pick;
import static dev.inmesh.internal.balancing.Picks.retryAfter;
import static dev.inmesh.internal.balancing.Picks.share;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RandomLoadBalancerTest {
  private static final int PICKS = 10_000;

  private final Endpoint a = endpoint("10.0.0.1");
  private final Endpoint b = endpoint("10.0.0.2");
  private final Endpoint c = endpoint("10.0.0.3");
  private final Endpoint d = endpoint("10.0.0.4");
  private final FakeEndpointState state = new FakeEndpointState();

  @Test
  void spreadsEquallyWeightedPicksEvenlyWithinThreePoints() {
    LoadBalancer balancer = RandomLoadBalancer.of(List.of(a, b, c, d), state, new SplittableRandom(1));

    Map<Endpoint, Integer> counts = count(balancer, PICKS);

    for (Endpoint endpoint : List.of(a, b, c, d)) {
      assertThat(share(counts, endpoint)).as(endpoint.toString()).isCloseTo(0.25, within(0.03));
    }
  }

  @Test
  void givesWeightThreeThreeQuartersOfThePicksAgainstWeightOne() {
    Endpoint heavy = endpoint("10.0.0.1", 3);
    Endpoint light = endpoint("10.0.0.2", 1);
    LoadBalancer balancer = RandomLoadBalancer.of(List.of(heavy, light), state, new Random(2));

    Map<Endpoint, Integer> counts = count(balancer, PICKS);

    assertThat(share(counts, heavy)).isCloseTo(0.75, within(0.03));
    assertThat(share(counts, light)).isCloseTo(0.25, within(0.03));
  }

  @Test
  void neverPicksAnEjectedEndpointWhileAnotherIsHealthy() {
    LoadBalancer balancer = RandomLoadBalancer.of(List.of(a, b, c), state, new SplittableRandom(3));
    state.eject(a, c);

    assertThat(count(balancer, 1_000)).containsOnlyKeys(b);
  }

  @Test
  void spreadsOverAllEndpointsWhenAllAreEjected() {
    LoadBalancer balancer = RandomLoadBalancer.of(List.of(a, b, c), state, new SplittableRandom(4));
    state.eject(a, b, c);

    Map<Endpoint, Integer> counts = count(balancer, 3_000);

    assertThat(counts).containsOnlyKeys(a, b, c);
    for (Endpoint endpoint : List.of(a, b, c)) {
      assertThat(share(counts, endpoint)).isCloseTo(1 / 3.0, within(0.05));
    }
  }

  @Test
  void sendsARetryToAnEndpointItHasNotTried() {
    LoadBalancer balancer = RandomLoadBalancer.of(List.of(a, b, c), state, new SplittableRandom(5));

    assertThat(count(balancer, retryAfter(a, b), 100)).containsOnlyKeys(c);
  }

  @Test
  void prefersATriedHealthyEndpointToAnUntriedEjectedOne() {
    LoadBalancer balancer = RandomLoadBalancer.of(List.of(a, b), state, new SplittableRandom(6));
    state.eject(b);

    assertThat(pick(balancer, retryAfter(a))).isEqualTo(a);
  }

  @Test
  void picksTheSameSequenceFromTheSameSeed() {
    List<Endpoint> endpoints = List.of(a, b, c, d);
    LoadBalancer first = RandomLoadBalancer.of(endpoints, state, new SplittableRandom(7));
    LoadBalancer second = RandomLoadBalancer.of(endpoints, state, new SplittableRandom(7));

    for (int i = 0; i < 100; i++) {
      assertThat(pick(first)).isEqualTo(pick(second));
    }
  }

  @Test
  void picksNothingFromAnEmptyList() {
    assertThat(RandomLoadBalancer.of(List.of(), state, new SplittableRandom(8)).pick(PickRequest.ANY)).isEmpty();
  }
}
