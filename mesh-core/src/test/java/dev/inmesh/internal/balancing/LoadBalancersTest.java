package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.count;
import static dev.inmesh.internal.balancing.Picks.endpoint;
import static dev.inmesh.internal.balancing.Picks.hashed;
import static dev.inmesh.internal.balancing.Picks.pick;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.internal.balancing.BalancerConfig.Policy;
import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LoadBalancersTest {
  private final Endpoint a = endpoint("10.0.0.1");
  private final Endpoint b = endpoint("10.0.0.2");
  private final Endpoint c = endpoint("10.0.0.3");
  private final FakeEndpointState state = new FakeEndpointState();

  @Test
  void buildsRoundRobinFromTheDefaultConfig() {
    LoadBalancer balancer = LoadBalancers.create(
        BalancerConfig.ROUND_ROBIN, List.of(a, b, c), state, new Random(1));

    assertThat(balancer).isInstanceOf(RoundRobinLoadBalancer.class);
    assertThat(count(balancer, 30)).containsEntry(a, 10).containsEntry(b, 10).containsEntry(c, 10);
  }

  @Test
  void buildsTheBalancerThePolicyNames() {
    assertThat(create(Policy.LEAST_REQUEST)).isInstanceOf(LeastRequestLoadBalancer.class);
    assertThat(create(Policy.RANDOM)).isInstanceOf(RandomLoadBalancer.class);
    assertThat(create(Policy.RING_HASH)).isInstanceOf(RingHashLoadBalancer.class);
  }

  @Test
  void givesRingHashItsConfiguredMinimumRingSize() {
    LoadBalancer balancer = LoadBalancers.create(
        new BalancerConfig(Policy.RING_HASH, 4096, 2), List.of(a, b, c), state, new Random(2));

    assertThat(((RingHashLoadBalancer) balancer).ringSize()).isGreaterThanOrEqualTo(4096);
    assertThat(pick(balancer, hashed(99))).isEqualTo(pick(balancer, hashed(99)));
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void picksNothingFromAnEmptyList(Policy policy) {
    LoadBalancer balancer = LoadBalancers.create(
        new BalancerConfig(policy, 1024, 2), List.of(), state, new Random(3));

    assertThat(balancer.pick(PickRequest.ANY)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void followsTheEdsPrioritiesUnderEveryPolicy(Policy policy) {
    Endpoint local = endpoint("10.0.0.1", Locality.parse("us-east1/us-east1-b"), 0, 1);
    Endpoint remote = endpoint("10.0.0.2", Locality.parse("eu-west1/eu-west1-a"), 1, 1);
    LoadBalancer balancer = LoadBalancers.create(
        new BalancerConfig(policy, 1024, 2), List.of(remote, local), state, new Random(4));

    assertThat(balancer).isInstanceOf(LocalityAwareLoadBalancer.class);
    assertThat(count(balancer, 100)).containsOnlyKeys(local);

    state.eject(local);
    assertThat(count(balancer, 100)).containsOnlyKeys(remote);
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void balancesOverEveryLocalityWhenEdsPutsThemAllAtPriorityZero(Policy policy) {
    Endpoint east = endpoint("10.0.0.1", Locality.parse("us-east1/us-east1-b"));
    Endpoint west = endpoint("10.0.0.2", Locality.parse("eu-west1/eu-west1-a"));
    LoadBalancer balancer = LoadBalancers.create(
        new BalancerConfig(policy, 1024, 2), List.of(east, west), state, new Random(5));

    assertThat(balancer).isNotInstanceOf(LocalityAwareLoadBalancer.class);
    assertThat(count(balancer, 1_000)).containsOnlyKeys(east, west);
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void sendsTrafficToAFullyEjectedClusterUnderEveryPolicy(Policy policy) {
    LoadBalancer balancer = LoadBalancers.create(
        new BalancerConfig(policy, 1024, 2), List.of(a, b, c), state, new Random(6));
    state.eject(a, b, c);

    assertThat(count(balancer, 1_000)).containsOnlyKeys(a, b, c);
  }

  @ParameterizedTest
  @EnumSource(Policy.class)
  void sendsARetryElsewhereUnderEveryPolicy(Policy policy) {
    LoadBalancer balancer = LoadBalancers.create(
        new BalancerConfig(policy, 1024, 2), List.of(a, b), state, new Random(7));

    assertThat(count(balancer, Picks.retryAfter(a), 100)).containsOnlyKeys(b);
  }

  private LoadBalancer create(Policy policy) {
    return LoadBalancers.create(new BalancerConfig(policy, 1024, 2), List.of(a, b), state, new Random(8));
  }
}
