package dev.inmesh.internal.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.identity.SpiffeId;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SpiffeIdTest {
  private final TestCa ca = new TestCa(Instant.parse("2026-11-26T12:00:00Z"));

  private X509Certificate leaf(SpiffeId identity) throws Exception {
    return ca.sign(CertificateRequest.pem(TestCa.keys(), identity), Duration.ofHours(1)).get(0);
  }

  /** The same certificate as a handshake shows it: parsed anew from its encoding, another object. */
  private static X509Certificate reparsed(X509Certificate certificate) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(certificate.getEncoded()));
  }

  @Test
  void aCertificateIsReadOnceEachTimeItComesBackTheSameIdentityIsReturned() throws Exception {
    SpiffeId reviews = new SpiffeId("cluster.local", "default", "reviews");
    X509Certificate certificate = leaf(reviews);

    Optional<SpiffeId> first = SpiffeId.of(certificate);
    Optional<SpiffeId> again = SpiffeId.of(reparsed(certificate));

    assertThat(first).contains(reviews);
    assertThat(again).as("remembered by the certificate's encoding").isSameAs(first);
  }

  @Test
  void differentCertificatesKeepTheirOwnIdentities() throws Exception {
    SpiffeId reviews = new SpiffeId("cluster.local", "default", "reviews");
    SpiffeId ratings = new SpiffeId("cluster.local", "default", "ratings");
    X509Certificate a = leaf(reviews);
    X509Certificate b = leaf(ratings);
    X509Certificate c = leaf(reviews);

    assertThat(SpiffeId.of(a)).contains(reviews);
    assertThat(SpiffeId.of(b)).contains(ratings);
    assertThat(SpiffeId.of(c)).contains(reviews);
    assertThat(SpiffeId.of(b)).contains(ratings);
  }

  @Test
  void aCertificateWithoutASpiffeIdHasNone() {
    assertThat(SpiffeId.of(ca.root)).isEmpty();
  }
}
