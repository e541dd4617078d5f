package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.testing.Await;
import dev.inmesh.testing.EtcdCluster;
import dev.inmesh.testing.OpensslPki;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mesh-control on an etcd cluster that requires TLS with client certificates between all its
 * parts, and etcd's own authentication: replicas reach it as an etcd user allowed only their key
 * prefix, and a replica without the right credential does not start.
 */
class EtcdTlsIT {
  private static final String PREFIX = "/secure/";
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: reviews
        namespace: default
      spec:
        hosts: [reviews]
        http:
        - route:
          - destination:
              host: reviews
      """;

  @TempDir
  static Path dir;
  static OpensslPki pki;
  static OpensslPki.Pair client;
  static EtcdCluster etcd;
  static Path password;

  @BeforeAll
  static void startEtcdWithTlsAndUsers() throws Exception {
    pki = OpensslPki.create(Files.createDirectories(dir.resolve("pki")));
    client = pki.client("mesh-control");
    OpensslPki.Pair root = pki.client("root");
    etcd = EtcdCluster.startTls(Files.createDirectories(dir.resolve("etcd")), 3,
        new EtcdCluster.Tls(pki.caCertificate(), pki.server("etcd")));
    password = Files.writeString(dir.resolve("mesh-control.password"), "s3cret-" + System.nanoTime() + "\n");
    // as an operator sets etcd up: a root user, and a user for mesh-control that may use its prefix only
    try (Client admin = Client.builder().endpoints(etcd.endpoints().toArray(java.net.URI[]::new))
        .sslContext(ssl -> ssl.trustManager(pki.caCertificate().toFile())
            .keyManager(root.certificate().toFile(), root.key().toFile()))
        .build()) {
      var auth = admin.getAuthClient();
      await(auth.userAdd(bytes("root"), bytes("root-password")));
      await(auth.roleAdd(bytes("root")));
      await(auth.userGrantRole(bytes("root"), bytes("root")));
      await(auth.roleAdd(bytes("inmesh")));
      await(auth.roleGrantPermission(bytes("inmesh"), bytes(PREFIX), bytes("/secure0"), Permission.Type.READWRITE));
      await(auth.userAdd(bytes("mesh-control"), bytes(Files.readString(password).strip())));
      await(auth.userGrantRole(bytes("mesh-control"), bytes("inmesh")));
      await(auth.authEnable());
    }
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  private static MeshControlOptions replica(MeshControlOptions.Etcd store) {
    return MeshControlOptions.ephemeral().withoutCa().withInsecureXds().withGracePeriod(Duration.ofMillis(500)).withEtcd(store);
  }

  private static MeshControlOptions.Etcd secure() {
    return MeshControlOptions.Etcd.of(etcd.endpoints()).withPrefix(PREFIX)
        .withTls(new MeshControlOptions.EtcdTls(pki.caCertificate(), Optional.of(client.certificate()), Optional.of(client.key())))
        .withUser(new MeshControlOptions.EtcdUser("mesh-control", password));
  }

  @Test
  void replicasShareConfigThroughEtcdOverMutualTlsAsAnEtcdUser() throws Exception {
    assertThat(etcd.endpoints()).allSatisfy(endpoint -> assertThat(endpoint.getScheme()).isEqualTo("https"));
    try (MeshControl a = MeshControl.start(replica(secure())); MeshControl b = MeshControl.start(replica(secure()))) {
      assertThat(a.apply("test", VIRTUAL_SERVICE).accepted()).isTrue();
      Await.until(() -> b.resources().stream().anyMatch(r -> r.name().equals("reviews")), Duration.ofSeconds(10),
          "replica B to see what A applied, through etcd");
    }
  }

  @Test
  void aReplicaWithAWrongPasswordDoesNotStart() throws Exception {
    Path wrong = Files.writeString(dir.resolve("wrong.password"), "not-the-password\n");
    MeshControlOptions.Etcd store = secure().withUser(new MeshControlOptions.EtcdUser("mesh-control", wrong));
    assertThatThrownBy(() -> MeshControl.start(replica(store)).close())
        .hasMessageContaining("etcd").hasStackTraceContaining("authentication failed");
  }

  @Test
  void aUserIsKeptToItsOwnPrefix() {
    MeshControlOptions.Etcd store = secure().withPrefix("/someone-else/");
    assertThatThrownBy(() -> MeshControl.start(replica(store)).close())
        .hasMessageContaining("etcd").hasStackTraceContaining("permission denied");
  }

  @Test
  void aReplicaWithoutAClientCertificateIsRefusedByEtcd() {
    MeshControlOptions.Etcd store = secure().withTls(new MeshControlOptions.EtcdTls(pki.caCertificate(), Optional.empty(),
        Optional.empty()));
    assertThatThrownBy(() -> MeshControl.start(replica(store)).close())
        .hasMessageContaining("did not answer within 15 s")
        .hasMessageContaining("does it require a client certificate (--etcd-cert, --etcd-key)?");
  }

  @Test
  void theCommandLineKeepsTlsAndCredentialsTogether() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream errors = new PrintStream(err, true, StandardCharsets.UTF_8);
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    String endpoints = etcd.endpointsFlag();
    assertThat(Main.run(new String[] {"--store", "etcd", "--etcd-endpoints", endpoints, "--ca", "none",
        "--insecure-xds", "--api-tokens", "t"}, out, errors)).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("https etcd endpoints need the CA that signs etcd's certificates");
    err.reset();
    assertThat(Main.run(new String[] {"--store", "etcd", "--etcd-endpoints", endpoints, "--ca", "none", "--insecure-xds", "--api-tokens", "t",
        "--etcd-cacert", pki.caCertificate().toString(), "--etcd-user", "mesh-control"}, out, errors)).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--etcd-user and --etcd-password-file go together");
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  private static <T> T await(CompletableFuture<T> future) throws Exception {
    return future.get(15, TimeUnit.SECONDS);
  }
}
