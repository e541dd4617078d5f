package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Mesh;
import dev.inmesh.MeshException;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.security.CaClient;
import dev.inmesh.internal.security.Credentials;
import dev.inmesh.internal.security.SpiffeTrustManager;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Workloads get SPIFFE certificates from mesh-control's embedded CA, and renew them over mTLS. */
class WorkloadCertificateIT {
  @TempDir
  Path dataDir;
  MeshControl control;
  AdminClient admin;
  String root;

  @BeforeEach
  void start() throws Exception {
    control = MeshControl.start(MeshControlOptions.ephemeral().withDataDir(dataDir));
    admin = AdminClient.admin(control);
    root = admin.get("/apis/ca/root").body().asText();
  }

  @AfterEach
  void stop() {
    control.close();
  }

  private String token(String serviceAccount) {
    AdminClient.Reply reply = admin.post("/apis/tokens",
        "{\"namespace\": \"default\", \"serviceAccount\": \"" + serviceAccount + "\", \"ttlSeconds\": 600}");
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.body().get("identity").asText()).isEqualTo("spiffe://cluster.local/ns/default/sa/" + serviceAccount);
    return reply.body().get("token").asText();
  }

  private Mesh.Builder workload(String serviceAccount) {
    return Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort())
        .service("reviews").serviceAccount(serviceAccount).servePort("http", 9080, 9080);
  }

  @Test
  void aWorkloadWithAJoinTokenGetsASpiffeCertificateFromTheEmbeddedCa() {
    try (Mesh mesh = workload("reviews").certificateAuthority("127.0.0.1:" + control.caGrpcPort(), root, token("reviews")).build()) {
      Credentials credentials = mesh.certificates().orElseThrow().current();

      assertThat(SpiffeId.of(credentials.leaf())).contains(new SpiffeId("cluster.local", "default", "reviews"));
      assertThat(Duration.between(credentials.notBefore(), credentials.notAfter())).isBetween(Duration.ofHours(23), Duration.ofHours(25));
      List<X509Certificate> roots = CaClient.readPem(root);
      SpiffeTrustManager trust = new SpiffeTrustManager(() -> roots, id -> true, Clock.systemUTC());
      assertThat(trust.getAcceptedIssuers()).hasSize(1);
      assertThat(mesh.certificates().get().isReady()).isTrue();
    }
  }

  @Test
  void aTokenForAnotherServiceAccountIsRefusedWithTheReason() {
    String ratingsToken = token("ratings");

    assertThatThrownBy(() -> workload("reviews").certificateAuthority("127.0.0.1:" + control.caGrpcPort(), root, ratingsToken).build())
        .isInstanceOf(MeshException.class)
        .hasMessageContaining("no workload certificate for spiffe://cluster.local/ns/default/sa/reviews")
        .hasMessageContaining("PERMISSION_DENIED");
  }

  @Test
  void aCertificateIsRenewedOverMutualTlsAfterItsTokenIsSpent() throws Exception {
    try (Mesh mesh = workload("reviews").certificateAuthority("127.0.0.1:" + control.caGrpcPort(), root, token("reviews"))
        .certificate("cluster.local", Duration.ofSeconds(4))
        .build()) {
      var manager = mesh.certificates().orElseThrow();
      X509Certificate first = manager.current().leaf();

      dev.inmesh.testing.Await.until(() -> !manager.current().leaf().equals(first), Duration.ofSeconds(10),
          "the certificate to rotate at half-life");

      X509Certificate second = manager.current().leaf();
      assertThat(SpiffeId.of(second)).isEqualTo(SpiffeId.of(first));
      assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey());
    }
  }
}
