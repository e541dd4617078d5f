package dev.inmesh.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ShadowAuthorityTest {
  @Test
  void addsShadowToTheHostBeforeThePort() {
    assertThat(OutboundPipeline.shadow("httpbin:8000")).isEqualTo("httpbin-shadow:8000");
  }

  @Test
  void addsShadowToAnAuthorityWithoutPort() {
    assertThat(OutboundPipeline.shadow("cluster-1")).isEqualTo("cluster-1-shadow");
  }

  @Test
  void keepsAnIpv6LiteralsBracketsAndPort() {
    assertThat(OutboundPipeline.shadow("[::1]:8000")).isEqualTo("[::1]-shadow:8000");
    assertThat(OutboundPipeline.shadow("[::1]")).isEqualTo("[::1]-shadow");
  }
}
