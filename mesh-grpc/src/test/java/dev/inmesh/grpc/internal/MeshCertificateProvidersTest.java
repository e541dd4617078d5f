package dev.inmesh.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.security.CertificateManager;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MeshCertificateProvidersTest {
  private static CertificateManager manager(String serviceAccount) {
    return new CertificateManager(new SpiffeId("cluster.local", "default", serviceAccount),
        (csr, ttl) -> {
          throw new java.io.IOException("this test signs nothing");
        },
        Duration.ofHours(1), Clock.systemUTC(), (task, delay) -> { });
  }

  @Test
  void aManagerNamedByManyBootstrapsIsRegisteredOnce() {
    CertificateManager reviews = manager("reviews");

    String first = MeshCertificateProviders.register(reviews);

    assertThat(MeshCertificateProviders.register(reviews)).isEqualTo(first);
    assertThat(MeshCertificateProviders.manager(first)).containsSame(reviews);
  }

  @Test
  void aClosedManagerLeavesAtTheNextRegistrationSoClosedMeshesDoNotPileUp() {
    CertificateManager closing = manager("ratings");
    String key = MeshCertificateProviders.register(closing);
    closing.close();

    MeshCertificateProviders.register(manager("details"));

    assertThat(MeshCertificateProviders.manager(key)).isEmpty();
  }
}
