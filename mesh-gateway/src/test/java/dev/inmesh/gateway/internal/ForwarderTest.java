package dev.inmesh.gateway.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ForwarderTest {
  @Test
  void theHostOfAHostHeaderLosesItsPortAndAnIpv6LiteralKeepsItsBrackets() {
    assertThat(Forwarder.hostOf("shop.example.com:8443")).isEqualTo("shop.example.com");
    assertThat(Forwarder.hostOf("shop.example.com")).isEqualTo("shop.example.com");
    assertThat(Forwarder.hostOf("[::1]:8080")).isEqualTo("[::1]");
    assertThat(Forwarder.hostOf("[::1]")).isEqualTo("[::1]");
  }

  @Test
  void readsTheClusterTheRouteChoseFromThePipelinesExplanation() {
    assertThat(Forwarder.clusterOf("listener=http.8080; route=front.0; cluster=outbound|9080||reviews.default.svc.cluster.local;"
        + " subset=-; attempts=10.0.0.1:9080=200; fault=none; result=200"))
        .hasValue("outbound|9080||reviews.default.svc.cluster.local");
    assertThat(Forwarder.clusterOf("listener=http.8080; route=-; cluster=-; subset=-; attempts=; fault=none; result=404 NR"))
        .isEmpty();
    assertThat(Forwarder.clusterOf(null)).isEmpty();
  }
}
