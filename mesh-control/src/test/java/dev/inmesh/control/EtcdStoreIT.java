package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.EtcdCluster;
import dev.inmesh.testing.WorkloadRegistration;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two mesh-control replicas on a real 3-member etcd cluster share config and registry: what one
 * accepts, the other serves; what a file owns, only the file changes; a workload registered on
 * one is seen by both and leaves after the grace period when its stream ends.
 */
class EtcdStoreIT {
  @TempDir
  static Path dir;
  static EtcdCluster etcd;

  @BeforeAll
  static void startEtcd() throws Exception {
    etcd = EtcdCluster.start(Files.createDirectories(dir.resolve("etcd")), 3);
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  private static MeshControl replica(String prefix, Path configDir) throws Exception {
    MeshControlOptions options = MeshControlOptions.ephemeral().withoutCa().withInsecureXds()
        .withGracePeriod(Duration.ofMillis(500)).withPollInterval(Duration.ofMillis(100))
        .withEtcd(MeshControlOptions.Etcd.of(etcd.endpoints()).withPrefix(prefix).withLeaseTtl(Duration.ofSeconds(3)));
    return MeshControl.start(configDir == null ? options : options.withConfigDir(configDir));
  }

  /** Replicas under {@code prefix} that sign under one root, made in {@code rootDir}. */
  private static MeshControlOptions sharedRoot(Path rootDir, String prefix) {
    dev.inmesh.ca.CertificateAuthority.builder(dev.inmesh.ca.CaConfig.of("cluster.local", rootDir)).build();
    MeshControlOptions.EmbeddedCa ca = MeshControlOptions.EmbeddedCa.of("cluster.local", 0, 0)
        .withRoot(rootDir.resolve("root-cert.pem"), rootDir.resolve("root-key.pem"));
    return MeshControlOptions.ephemeral().withCa(ca).withEtcd(MeshControlOptions.Etcd.of(etcd.endpoints()).withPrefix(prefix));
  }

  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: reviews
      spec:
        hosts: [reviews]
        http:
        - route:
          - destination:
              host: reviews
      """;

  @Test
  void configAppliedThroughOneReplicaIsServedByTheOtherAndSurvivesARestart() throws Exception {
    try (MeshControl a = replica("/config-test/", null)) {
      try (MeshControl b = replica("/config-test/", null)) {
        ApplyResult applied = a.apply("test", VIRTUAL_SERVICE);

        assertThat(applied.accepted()).isTrue();
        assertThat(a.resources()).extracting(ConfigResource::key)
            .containsExactly(new ResourceKey("VirtualService", "default", "reviews"));
        Await.until(() -> b.resources().size() == 1, Duration.ofSeconds(5), "replica B to see the VirtualService");
        assertThat(b.resources().get(0).source()).isEqualTo("api");

        assertThat(b.delete("test", List.of(new ResourceKey("VirtualService", "default", "reviews"))).accepted()).isTrue();
        Await.until(() -> a.resources().isEmpty(), Duration.ofSeconds(5), "replica A to see the delete");
        assertThat(b.apply("test", VIRTUAL_SERVICE).accepted()).isTrue();
      }
    }
    try (MeshControl restarted = replica("/config-test/", null)) {
      assertThat(restarted.resources()).extracting(ConfigResource::name).containsExactly("reviews");
    }
  }

  @Test
  void aFileOwnsItsResourcesOnEveryReplicaAndTheirRemovalSurvivesARestart() throws Exception {
    Path configDir = Files.createDirectories(dir.resolve("files"));
    Files.writeString(configDir.resolve("reviews.yaml"), VIRTUAL_SERVICE, StandardCharsets.UTF_8);
    try (MeshControl a = replica("/file-test/", configDir); MeshControl b = replica("/file-test/", null)) {
      assertThat(b.resources()).extracting(ConfigResource::source).containsExactly("reviews.yaml");

      ApplyResult conflicting = b.apply("test", VIRTUAL_SERVICE);

      assertThat(conflicting.accepted()).isFalse();
      assertThat(conflicting.problems().get(0).message()).contains("already defined in reviews.yaml");
    }
    Files.delete(configDir.resolve("reviews.yaml"));
    try (MeshControl a = replica("/file-test/", configDir)) {
      a.rescan();
      assertThat(a.resources()).as("an empty directory is one being replaced: it removes nothing").hasSize(1);
    }
    // what is left is a deliberate act: a directory with a YAML file, without reviews.yaml
    Files.writeString(configDir.resolve("keep.yaml"), "", StandardCharsets.UTF_8);
    try (MeshControl a = replica("/file-test/", configDir)) {
      a.rescan();
      assertThat(a.resources()).isEmpty();
    }
  }

  @Test
  void aWorkloadRegisteredOnOneReplicaIsInBothRegistriesAndLeavesAfterTheGracePeriod() throws Exception {
    try (MeshControl a = replica("/registry-test/", null); MeshControl b = replica("/registry-test/", null)) {
      ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:" + a.xdsPort()).usePlaintext().build();
      WorkloadRegistration registration = WorkloadRegistration.start(List.of(channel), new WorkloadMetadata("reviews",
          "default", "reviews", "reviews-v1", Map.of("version", "v1"), "127.0.0.1",
          List.of(new ServicePort("http", 9080, 9080, "HTTP")), null));
      try {
        Await.until(() -> b.workloads().size() == 1, Duration.ofSeconds(5), "replica B to see the workload");
        Workload seen = b.workloads().get(0);
        assertThat(seen.metadata().service()).isEqualTo("reviews");
        assertThat(seen.metadata().labels()).containsEntry("version", "v1");
      } finally {
        registration.close();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      Await.until(() -> a.workloads().isEmpty() && b.workloads().isEmpty(), Duration.ofSeconds(5),
          "both replicas to drop the workload after its grace period");
    }
  }

  @Test
  void replicasSignUnderTheSharedRootEachWithItsOwnIntermediateAndAWorkloadFailsOverBetweenTheirCas() throws Exception {
    Path rootDir = Files.createDirectories(dir.resolve("root"));
    MeshControlOptions options = sharedRoot(rootDir, "/ca-test/");
    try (MeshControl a = MeshControl.start(options); MeshControl b = MeshControl.start(options)) {
      var caA = a.ca().orElseThrow();
      var caB = b.ca().orElseThrow();
      assertThat(caA.rootCertificate()).isEqualTo(caB.rootCertificate());
      assertThat(caA.intermediateCertificate()).isNotEqualTo(caB.intermediateCertificate());

      String token = caB.joinTokens().create("default", "reviews", Duration.ofMinutes(5)).value();
      String root = new String(Files.readAllBytes(rootDir.resolve("root-cert.pem")), StandardCharsets.US_ASCII);
      int deadCa;
      try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
        deadCa = socket.getLocalPort();
      }
      try (dev.inmesh.Mesh workload = dev.inmesh.Mesh.builder()
          .controlServers("127.0.0.1:" + a.xdsPort(), "127.0.0.1:" + b.xdsPort())
          .service("reviews").serviceAccount("reviews").servePort("http", 9080, 9080)
          .certificateAuthorities(List.of("127.0.0.1:" + deadCa, "127.0.0.1:" + b.caGrpcPort()), root, token)
          .build()) {
        var chain = workload.certificates().orElseThrow().current().chain();
        assertThat(chain.get(1)).isEqualTo(caB.intermediateCertificate());
        chain.get(0).verify(chain.get(1).getPublicKey());
        chain.get(1).verify(caA.rootCertificate().getPublicKey());
      }
    }
  }

  @Test
  void aJoinTokenMintedAtOneReplicaIsRedeemedAtAnotherAndOnlyOnceAcrossThem() throws Exception {
    Path rootDir = Files.createDirectories(dir.resolve("root-tokens"));
    MeshControlOptions options = sharedRoot(rootDir, "/token-test/");
    try (MeshControl a = MeshControl.start(options); MeshControl b = MeshControl.start(options)) {
      var tokensA = a.ca().orElseThrow().joinTokens();
      var tokensB = b.ca().orElseThrow().joinTokens();
      String root = new String(Files.readAllBytes(rootDir.resolve("root-cert.pem")), StandardCharsets.US_ASCII);

      // minted at A, redeemed by a workload at B's CA
      String token = tokensA.create("default", "reviews", Duration.ofMinutes(5)).value();
      assertThat(tokensB.outstanding()).as("B sees A's token").isEqualTo(1);
      try (dev.inmesh.Mesh workload = dev.inmesh.Mesh.builder()
          .controlServers("127.0.0.1:" + b.xdsPort())
          .service("reviews").serviceAccount("reviews").servePort("http", 9080, 9080)
          .certificateAuthority("127.0.0.1:" + b.caGrpcPort(), root, token)
          .build()) {
        assertThat(workload.certificates().orElseThrow().current().chain().get(1))
            .isEqualTo(b.ca().orElseThrow().intermediateCertificate());
      }
      dev.inmesh.identity.SpiffeId reviews = dev.inmesh.ca.IdentityRules.identity("cluster.local", "default", "reviews");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> tokensA.redeem(token, reviews))
          .isInstanceOf(dev.inmesh.ca.CaException.class).hasMessageContaining("was already used at");
      assertThat(tokensA.outstanding()).isZero();

      // one token redeemed at once from both replicas, many times over: exactly one redemption wins
      String contested = tokensB.create("default", "reviews", Duration.ofMinutes(5)).value();
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
      try {
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<Boolean>> attempts = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
          var tokens = i % 2 == 0 ? tokensA : tokensB;
          attempts.add(pool.submit(() -> {
            go.await();
            try {
              tokens.redeem(contested, reviews);
              return true;
            } catch (dev.inmesh.ca.CaException e) {
              assertThat(e.getMessage()).contains("single use");
              return false;
            }
          }));
        }
        go.countDown();
        int won = 0;
        for (var attempt : attempts) {
          won += attempt.get(30, TimeUnit.SECONDS) ? 1 : 0;
        }
        assertThat(won).isEqualTo(1);
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
