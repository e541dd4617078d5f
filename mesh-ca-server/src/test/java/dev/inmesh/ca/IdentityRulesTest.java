package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.identity.SpiffeId;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class IdentityRulesTest {
  @Test
  void parsesAndPrintsIstiosIdentityShape() {
    dev.inmesh.identity.SpiffeId id = IdentityRules.parse("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");

    assertThat(id).isEqualTo(IdentityRules.identity("cluster.local", "default", "bookinfo-productpage"));
    assertThat(id.toUri().toString()).isEqualTo("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
  }

  @Test
  void refusesOtherShapesQuotingTheInput() {
    assertThatThrownBy(() -> IdentityRules.parse("spiffe://cluster.local/ns/default")).hasMessageContaining("'spiffe://cluster.local/ns/default'");
    assertThatThrownBy(() -> IdentityRules.parse("spiffe://cluster.local/ns/default/sa/web/extra")).hasMessageContaining("mesh identity");
    assertThatThrownBy(() -> IdentityRules.parse("spiffe://Cluster.Local/ns/a/sa/b")).hasMessageContaining("'Cluster.Local'");
    assertThatThrownBy(() -> IdentityRules.parse("http://cluster.local/ns/a/sa/b")).hasMessageContaining("spiffe://");
    assertThatThrownBy(() -> IdentityRules.parse("spiffe://cluster.local/ns//sa/b")).hasMessageContaining("namespace");
  }

  @Test
  void aCaConfigRefusesAMaximumBelowTheDefaultLifetime() {
    assertThatThrownBy(() -> CaConfig.of("cluster.local", Path.of("x")).withLeafTtl(Duration.ofHours(2), Duration.ofHours(1)))
        .hasMessageContaining("PT1H").hasMessageContaining("PT2H");
    assertThat(CaConfig.of("cluster.local", Path.of("x")).defaultLeafTtl()).isEqualTo(Duration.ofHours(24));
  }
}
