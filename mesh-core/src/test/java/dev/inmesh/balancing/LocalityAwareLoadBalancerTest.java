package dev.inmesh.balancing;

import static dev.inmesh.balancing.Picks.count;
import static dev.inmesh.balancing.Picks.endpoint;
import static dev.inmesh.balancing.Picks.pick;
import static dev.inmesh.balancing.Picks.retryAfter;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.model.Endpoint;
import dev.inmesh.model.Locality;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LocalityAwareLoadBalancerTest {
  private final Locality client = Locality.parse("us-east1/us-east1-b");
  private final Endpoint local1 = endpoint("10.0.0.1", Locality.parse("us-east1/us-east1-b"));
  private final Endpoint local2 = endpoint("10.0.0.2", Locality.parse("us-east1/us-east1-b"));
  private final Endpoint sameRegion = endpoint("10.0.1.1", Locality.parse("us-east1/us-east1-c"));
  private final Endpoint remote = endpoint("10.0.2.1", Locality.parse("eu-west1/eu-west1-a"));
  private final List<Endpoint> endpoints = List.of(remote, sameRegion, local1, local2);
  private final FakeEndpointState state = new FakeEndpointState();
  private final LoadBalancer balancer = LocalityAwareLoadBalancer.of(
      LocalityPriorities.of(client, endpoints),
      state,
      level -> RoundRobinLoadBalancer.of(level, state, new SplittableRandom(1)));

  @Test
  void keepsTrafficInTheLocalZone() {
    assertThat(count(balancer, 100)).containsOnlyKeys(local1, local2).containsEntry(local1, 50);
  }

  @Test
  void failsOverToTheNextLocalityWhenTheLocalOnesAreAllEjected() {
    state.eject(local1, local2);
    assertThat(count(balancer, 100)).containsOnlyKeys(sameRegion);

    state.eject(sameRegion);
    assertThat(count(balancer, 100)).containsOnlyKeys(remote);
  }

  @Test
  void staysLocalWhileOneLocalEndpointIsHealthy() {
    state.eject(local1);

    assertThat(count(balancer, 100)).containsOnlyKeys(local2);
  }

  @Test
  void comesBackToTheLocalZoneWhenItRecovers() {
    state.eject(local1, local2);
    assertThat(pick(balancer)).isEqualTo(sameRegion);

    state.restore(local2);

    assertThat(count(balancer, 100)).containsOnlyKeys(local2);
  }

  @Test
  void spreadsOverEveryLocalityWhenAllEndpointsAreEjected() {
    state.eject(local1, local2, sameRegion, remote);

    assertThat(count(balancer, 100)).containsOnlyKeys(endpoints.toArray(Endpoint[]::new));
  }

  @Test
  void sendsARetryFartherAwayOnlyWhenEveryNearerHealthyEndpointWasTried() {
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
}
