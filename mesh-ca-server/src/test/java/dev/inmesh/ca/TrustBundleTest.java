package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustBundleTest {
  private static final Instant NOW = Instant.parse("2025-03-01T10:00:00Z");

  @TempDir
  Path oldDir;
  @TempDir
  Path newDir;

  private CertificateAuthority oldCa;
  private CertificateAuthority newCa;

  @BeforeEach
  void startTwoCas() {
    MutableClock clock = new MutableClock(NOW);
    oldCa = CertificateAuthority.builder(CaConfig.of("cluster.local", oldDir)).clock(clock).build();
    newCa = CertificateAuthority.builder(CaConfig.of("cluster.local", newDir)).clock(clock).build();
  }

  private static IssuedCertificate leaf(CertificateAuthority ca) {
    return ca.sign(Csrs.forIdentity(Csrs.p256(), "spiffe://cluster.local/ns/shop/sa/web"), Duration.ZERO,
        new Credential.Token(ca.joinTokens().create("shop", "web", Duration.ofHours(1)).value()));
  }

  @Test
  void aBundleWithTwoRootsVerifiesLeavesOfBoth() {
    TrustBundle bundle = TrustBundle.of(List.of(oldCa.rootCertificate(), newCa.rootCertificate()));

    bundle.verify(leaf(oldCa).chain(), NOW);
    bundle.verify(leaf(newCa).chain(), NOW);
    bundle.verify(leaf(newCa).chain().subList(0, 2), NOW);
  }

  @Test
  void removingTheOldRootEndsTrustInItsLeavesOnly() {
    TrustBundle rotating = TrustBundle.of(List.of(oldCa.rootCertificate())).withRoot(newCa.rootCertificate());
    IssuedCertificate oldLeaf = leaf(oldCa);

    TrustBundle rotated = rotating.withoutRoot(oldCa.rootCertificate());

    rotated.verify(leaf(newCa).chain(), NOW);
    assertThatThrownBy(() -> rotated.verify(oldLeaf.chain(), NOW))
        .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNTRUSTED_CERTIFICATE));
  }

  @Test
  void aLeafIsNotTrustedAfterItExpires() {
    IssuedCertificate issued = leaf(oldCa);

    assertThatThrownBy(() -> oldCa.trustBundle().verify(issued.chain(), NOW.plus(Duration.ofHours(25))))
        .isInstanceOf(CaException.class)
        .hasMessageContaining("does not verify against the trust bundle");
  }

  @Test
  void roundTripsThroughPem() {
    TrustBundle bundle = TrustBundle.of(List.of(oldCa.rootCertificate(), newCa.rootCertificate()));

    TrustBundle read = TrustBundle.fromPem(bundle.toPem());

    assertThat(read).isEqualTo(bundle);
    assertThat(read.roots()).containsExactly(oldCa.rootCertificate(), newCa.rootCertificate());
  }

  @Test
  void refusesToLoseItsLastRootOrToHoldALeaf() {
    TrustBundle single = TrustBundle.of(List.of(oldCa.rootCertificate()));

    assertThatThrownBy(() -> single.withoutRoot(oldCa.rootCertificate())).hasMessageContaining("at least one root");
    assertThatThrownBy(() -> single.withRoot(leaf(oldCa).leaf())).hasMessageContaining("not a CA certificate");
    assertThatThrownBy(() -> single.withoutRoot(newCa.rootCertificate())).hasMessageContaining("does not hold");
  }

  @Test
  void theCaSavesAnUpdatedBundleAndKeepsItAcrossRestarts() {
    oldCa.updateTrustBundle(bundle -> bundle.withRoot(newCa.rootCertificate()));

    CertificateAuthority restarted = CertificateAuthority.builder(CaConfig.of("cluster.local", oldDir))
        .clock(new MutableClock(NOW)).build();

    assertThat(restarted.trustBundle().roots()).containsExactly(oldCa.rootCertificate(), newCa.rootCertificate());
    restarted.trustBundle().verify(leaf(newCa).chain(), NOW);
  }
}
