package dev.inmesh.internal.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ShadowAuthorityTest {
  @Test
  void addsShadowToTheHostBeforeThePort() {
    assertThat(MirrorStage.shadow("httpbin:8000")).isEqualTo("httpbin-shadow:8000");
  }

  @Test
  void addsShadowToAnAuthorityWithoutPort() {
    assertThat(MirrorStage.shadow("cluster-1")).isEqualTo("cluster-1-shadow");
  }

  @Test
  void keepsAnIpv6LiteralsBracketsAndPort() {
    assertThat(MirrorStage.shadow("[::1]:8000")).isEqualTo("[::1]-shadow:8000");
    assertThat(MirrorStage.shadow("[::1]")).isEqualTo("[::1]-shadow");
  }
}
