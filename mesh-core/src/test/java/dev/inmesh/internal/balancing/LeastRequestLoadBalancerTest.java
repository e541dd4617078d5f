package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.count;
import static dev.inmesh.internal.balancing.Picks.endpoint;
import static dev.inmesh.internal.balancing.Picks.retryAfter;
import static dev.inmesh.internal.balancing.Picks.share;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LeastRequestLoadBalancerTest {
  private static final int PICKS = 10_000;

  private final Endpoint a = endpoint("10.0.0.1");
  private final Endpoint b = endpoint("10.0.0.2");
  private final Endpoint c = endpoint("10.0.0.3");
  private final FakeEndpointState state = new FakeEndpointState();

  @Test
  void prefersTheIdleEndpoint() {
    state.active(a, 5);
    state.active(b, 5);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(a, b, c), state, 2, new SplittableRandom(1));

    Map<Endpoint, Integer> counts = count(balancer, PICKS);

    // The busy ones win only when both draws land on busy ones: (2/3)^2 of the time.
    assertThat(share(counts, c)).isCloseTo(5 / 9.0, within(0.03));
  }

  @Test
  void alwaysPicksTheIdleEndpointWhenItDrawsAsManyChoicesAsEndpoints() {
    state.active(a, 1);
    state.active(b, 2);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(a, b, c), state, 50, new SplittableRandom(2));

    assertThat(count(balancer, 1_000)).containsOnlyKeys(c);
  }

  @Test
  void breaksTiesAtRandom() {
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(a, b), state, 2, new SplittableRandom(3));

    Map<Endpoint, Integer> counts = count(balancer, PICKS);

    assertThat(share(counts, a)).isCloseTo(0.5, within(0.03));
  }

  @Test
  void dividesActiveRequestsByWeight() {
    Endpoint heavy = endpoint("10.0.0.1", 4);
    Endpoint light = endpoint("10.0.0.2", 1);
    // (3 + 1) / 4 = 1 against (0 + 1) / 1 = 1: a tie, though the heavy one is busier.
    state.active(heavy, 3);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(heavy, light), state, 2, new SplittableRandom(4));
    assertThat(share(count(balancer, PICKS), heavy)).isCloseTo(0.5, within(0.03));

    // One more and the idle light one wins every comparison.
    state.active(heavy, 4);
    assertThat(share(count(balancer, PICKS), heavy)).isCloseTo(0.25, within(0.03));
  }

  @Test
  void prefersTheHeavierOfTwoIdleEndpoints() {
    Endpoint heavy = endpoint("10.0.0.1", 3);
    Endpoint light = endpoint("10.0.0.2", 1);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(heavy, light), state, 2, new SplittableRandom(5));

    assertThat(share(count(balancer, PICKS), heavy)).isCloseTo(0.75, within(0.03));
  }

  @Test
  void neverPicksAnEjectedEndpointEvenWhenItIsIdle() {
    state.active(a, 10);
    state.active(b, 10);
    state.eject(c);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(a, b, c), state, 2, new SplittableRandom(6));

    assertThat(count(balancer, 1_000)).containsOnlyKeys(a, b);
  }

  @Test
  void picksAmongAllEndpointsWhenAllAreEjected() {
    state.active(a, 10);
    state.eject(a, b);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(a, b), state, 2, new SplittableRandom(7));

    assertThat(share(count(balancer, PICKS), b)).isCloseTo(0.75, within(0.03));
  }

  @Test
  void sendsARetryToAnEndpointItHasNotTriedEvenABusierOne() {
    state.active(b, 100);
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(a, b), state, 2, new SplittableRandom(8));

    assertThat(count(balancer, retryAfter(a), 100)).containsOnlyKeys(b);
  }

  @Test
  void picksNothingFromAnEmptyList() {
    LoadBalancer balancer = LeastRequestLoadBalancer.of(List.of(), state, 2, new SplittableRandom(9));

    assertThat(balancer.pick(PickRequest.ANY)).isEmpty();
  }

  @Test
  void rejectsFewerThanTwoChoicesQuotingTheValue() {
    assertThatThrownBy(() -> LeastRequestLoadBalancer.of(List.of(a), state, 1, new SplittableRandom(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("got 1");
  }
}
