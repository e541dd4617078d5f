package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.count;
import static dev.inmesh.internal.balancing.Picks.endpoint;
import static dev.inmesh.internal.balancing.Picks.pick;
import static dev.inmesh.internal.balancing.Picks.retryAfter;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.model.Endpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RoundRobinLoadBalancerTest {
  private final Endpoint a = endpoint("10.0.0.1");
  private final Endpoint b = endpoint("10.0.0.2");
  private final Endpoint c = endpoint("10.0.0.3");
  private final FakeEndpointState state = new FakeEndpointState();

  @Test
  void visitsEveryEndpointOnceInEachCycleInTheSameOrder() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(a, b, c), state, new SplittableRandom(1));

    List<Endpoint> first = picks(balancer, 3);
    List<Endpoint> second = picks(balancer, 3);

    assertThat(first).containsExactlyInAnyOrder(a, b, c);
    assertThat(second).isEqualTo(first);
  }

  @Test
  void givesWeightThreeThreeTurnsInEveryCycleOfFourSpreadOut() {
    Endpoint heavy = endpoint("10.0.0.1", 3);
    Endpoint light = endpoint("10.0.0.2", 1);
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(heavy, light), state, new SplittableRandom(2));

    for (int cycle = 0; cycle < 5; cycle++) {
      assertThat(count(balancer, 4)).containsEntry(heavy, 3).containsEntry(light, 1);
    }
    // Smooth, not A A A B: the light endpoint never waits more than two heavy turns.
    List<Endpoint> run = picks(balancer, 40);
    for (int i = 0; i + 2 < run.size(); i++) {
      assertThat(run.subList(i, i + 3)).as("picks %d..%d", i, i + 2).contains(heavy);
    }
  }

  @Test
  void keepsExactProportionsForWeightsWithACommonFactor() {
    Endpoint heavy = endpoint("10.0.0.1", 60);
    Endpoint middle = endpoint("10.0.0.2", 30);
    Endpoint light = endpoint("10.0.0.3", 10);
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(heavy, middle, light), state, new SplittableRandom(3));

    assertThat(count(balancer, 10))
        .containsEntry(heavy, 6)
        .containsEntry(middle, 3)
        .containsEntry(light, 1);
  }

  @Test
  void skipsAnEjectedEndpointAndTakesItBackWhenItRecovers() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(a, b, c), state, new SplittableRandom(4));

    state.eject(b);
    assertThat(count(balancer, 10)).containsOnlyKeys(a, c).containsEntry(a, 5).containsEntry(c, 5);

    state.restore(b);
    assertThat(count(balancer, 9)).containsEntry(a, 3).containsEntry(b, 3).containsEntry(c, 3);
  }

  @Test
  void spreadsOverAllEndpointsWhenAllAreEjected() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(a, b, c), state, new SplittableRandom(5));
    state.eject(a, b, c);

    assertThat(count(balancer, 6)).containsEntry(a, 2).containsEntry(b, 2).containsEntry(c, 2);
  }

  @Test
  void sendsARetryToAnEndpointItHasNotTried() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(a, b), state, new SplittableRandom(6));

    for (int i = 0; i < 10; i++) {
      assertThat(pick(balancer, retryAfter(a))).isEqualTo(b);
    }
  }

  @Test
  void retriesTheOnlyEndpointWhenThereIsNoOther() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(a), state, new SplittableRandom(7));

    assertThat(pick(balancer, retryAfter(a))).isEqualTo(a);
  }

  @Test
  void retriesAHealthyEndpointAgainRatherThanAnEjectedOne() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(a, b), state, new SplittableRandom(8));
    state.eject(b);

    assertThat(pick(balancer, retryAfter(a))).isEqualTo(a);
  }

  @Test
  void picksNothingFromAnEmptyList() {
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(), state, new SplittableRandom(9));

    assertThat(balancer.pick(PickRequest.ANY)).isEmpty();
  }

  @Test
  void startsAtADifferentPlaceForDifferentClients() {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= 10; i++) {
      endpoints.add(endpoint("10.0.0." + i));
    }
    SplittableRandom seeds = new SplittableRandom(10);
    Map<Endpoint, Integer> firstPicks = new ConcurrentHashMap<>();
    for (int client = 0; client < 20; client++) {
      LoadBalancer balancer = RoundRobinLoadBalancer.of(endpoints, state, seeds.split());
      firstPicks.merge(pick(balancer), 1, Integer::sum);
    }

    assertThat(firstPicks.size()).isGreaterThan(3);
  }

  @Test
  void keepsTheCycleExactWhenManyThreadsPickAtOnce() throws Exception {
    Endpoint heavy = endpoint("10.0.0.1", 3);
    Endpoint light = endpoint("10.0.0.2", 1);
    LoadBalancer balancer = RoundRobinLoadBalancer.of(List.of(heavy, light), state, new SplittableRandom(11));
    Map<Endpoint, AtomicInteger> counts = new ConcurrentHashMap<>();
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int thread = 0; thread < 4; thread++) {
        done.add(threads.submit(() -> {
          for (int i = 0; i < 10_000; i++) {
            counts.computeIfAbsent(pick(balancer), e -> new AtomicInteger()).incrementAndGet();
          }
        }));
      }
      for (Future<?> future : done) {
        future.get();
      }
    } finally {
      threads.shutdownNow();
    }

    assertThat(counts.get(heavy).get()).isEqualTo(30_000);
    assertThat(counts.get(light).get()).isEqualTo(10_000);
  }

  private static List<Endpoint> picks(LoadBalancer balancer, int picks) {
    List<Endpoint> result = new ArrayList<>();
    for (int i = 0; i < picks; i++) {
      result.add(pick(balancer));
    }
    return result;
  }
}
