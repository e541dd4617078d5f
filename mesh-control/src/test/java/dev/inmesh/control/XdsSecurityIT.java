package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Mesh;
import dev.inmesh.MeshException;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.ControlPlaneChannels;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.ControlPlaneAccess;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mesh-control's xDS port against the attacks of an outsider who can reach it: it speaks mutual
 * TLS, takes a workload's namespace, service account and address from what its connection proves
 * rather than from what its node claims, and serves the read-only port without registering anyone.
 * Each attack is refused with a status that names the claim, and the registry does not change.
 */
class XdsSecurityIT {
  private static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";

  @TempDir
  Path configDir;
  MeshFixture mesh;
  ControlPlaneAccess access;

  @BeforeEach
  void start() throws IOException {
    mesh = new MeshFixture(configDir, Duration.ofSeconds(1));
    access = mesh.access();
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  private static WorkloadMetadata workload(String service, String namespace, String serviceAccount, String address) {
    return new WorkloadMetadata(service, namespace, serviceAccount, service + "-v1", Map.of("app", service, "version", "v1"),
        address, List.of(ServicePort.of("http", 9080, 9080)), null);
  }

  /** Opens a raw ADS stream, sends one request for listeners as {@code node}, and waits for the first answer or the end. */
  static CompletableFuture<Object> ads(ManagedChannel channel, Node node) {
    CompletableFuture<Object> outcome = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(new StreamObserver<>() {
          @Override
          public void onNext(DiscoveryResponse response) {
            outcome.complete(response);
          }

          @Override
          public void onError(Throwable t) {
            outcome.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            outcome.complete(Status.OK);
          }
        });
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
    return outcome;
  }

  /** Sends one load report as {@code node} and waits for how the stream ends. */
  private static Status loadReport(ManagedChannel channel, Node node) throws Exception {
    var reports = io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc.newStub(channel);
    CompletableFuture<Status> outcome = new CompletableFuture<>();
    var requests = reports.streamLoadStats(new StreamObserver<>() {
      @Override
      public void onNext(io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse value) {
      }

      @Override
      public void onError(Throwable t) {
        outcome.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        outcome.complete(Status.OK);
      }
    });
    requests.onNext(io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest.newBuilder().setNode(node)
        .addClusterStats(io.envoyproxy.envoy.config.endpoint.v3.ClusterStats.newBuilder()
            .setClusterName("outbound|9080||reviews.default.svc.cluster.local"))
        .build());
    return outcome.get(10, TimeUnit.SECONDS);
  }

  /** Registers {@code claim} with a certificate of {@code namespace}/{@code serviceAccount}, and expects a refusal that says {@code reasons}. */
  private void assertRegistrationRefused(String namespace, String serviceAccount, WorkloadMetadata claim, String... reasons)
      throws Exception {
    try (ControlPlaneAccess.Channel channel = access.channel(namespace, serviceAccount)) {
      Status status = refusal(ads(channel.channel(), claim.toNode("intruder")));
      assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(status.getDescription()).contains(reasons);
      assertThat(mesh.control.workloads()).as("nothing registered").isEmpty();
    }
  }

  private static Status refusal(CompletableFuture<Object> outcome) throws Exception {
    Object result = outcome.get(10, TimeUnit.SECONDS);
    assertThat(result).as("the stream is refused, not served").isInstanceOf(Status.class);
    return (Status) result;
  }

  @Test
  void aWorkloadRegistersOverMutualTlsAsTheIdentityOfItsCertificate() throws Exception {
    try (ControlPlaneAccess.Channel channel = access.channel("default", "reviews")) {
      Object answer = ads(channel.channel(), workload("reviews", "default", "reviews", "127.0.0.1").toNode("reviews-1"))
          .get(10, TimeUnit.SECONDS);
      assertThat(answer).isInstanceOf(DiscoveryResponse.class);
      Await.until(() -> mesh.control.workloads().size() == 1, Duration.ofSeconds(5), "the workload to register");
      assertThat(mesh.control.workloads().get(0).metadata().serviceAccount()).isEqualTo("reviews");
    }
  }

  @Test
  void aPlaintextRegistrationIsRefusedOnEveryPort() throws Exception {
    Node details = workload("details", "default", "details", "127.0.0.1").toNode("outsider");
    ManagedChannel plaintext = ControlPlaneChannels.plaintext(mesh.xdsAddress());
    ManagedChannel readOnly = ControlPlaneChannels.plaintext(mesh.readOnlyAddress());
    try {
      Status onTheTlsPort = refusal(ads(plaintext, details));
      assertThat(onTheTlsPort.getCode()).as(onTheTlsPort.toString()).isEqualTo(Status.Code.UNAVAILABLE);

      Status onTheReadOnlyPort = refusal(ads(readOnly, details));
      assertThat(onTheReadOnlyPort.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(onTheReadOnlyPort.getDescription()).contains("INMESH_SERVICE=details")
          .contains("the read-only xDS port, which registers no one");
      assertThat(mesh.control.workloads()).isEmpty();
    } finally {
      plaintext.shutdownNow();
      readOnly.shutdownNow();
    }
  }

  @Test
  void aClientWithoutACertificateIsToldWhereItMayReadConfig() throws Exception {
    // TLS that checks the server but presents no certificate: what grpc-java's bootstrap "tls" credentials do
    var roots = dev.inmesh.internal.security.CaClient.readPem(mesh.control.ca().orElseThrow().trustBundle().toPem());
    ManagedChannel anonymous = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(mesh.xdsAddress())
        .sslContext(io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient()
            .trustManager(new dev.inmesh.internal.security.RootsTrustManager(() -> roots)).build())
        .build();
    try {
      Node client = Node.newBuilder().setId("grpc-client").setMetadata(com.google.protobuf.Struct.newBuilder()
          .putFields(WorkloadMetadata.NAMESPACE, com.google.protobuf.Value.newBuilder().setStringValue("default").build())).build();
      Status status = refusal(ads(anonymous, client));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("needs a mesh certificate").contains("--xds-read-only-port");

      ManagedChannel readOnly = ControlPlaneChannels.plaintext(mesh.readOnlyAddress());
      try {
        assertThat(ads(readOnly, client).get(10, TimeUnit.SECONDS)).as("the read-only port serves it")
            .isInstanceOf(DiscoveryResponse.class);
      } finally {
        readOnly.shutdownNow();
      }
    } finally {
      anonymous.shutdownNow();
    }
  }

  @Test
  void aCertificateOfOneNamespaceCannotRegisterIntoAnother() throws Exception {
    assertRegistrationRefused("shop", "details", workload("details", "default", "details", "127.0.0.1"),
        "NAMESPACE=default", "its certificate is spiffe://cluster.local/ns/shop/sa/details");
  }

  @Test
  void aCertificateOfOneServiceAccountCannotRegisterAsAnother() throws Exception {
    assertRegistrationRefused("default", "ratings", workload("details", "default", "details", "127.0.0.1"),
        "SERVICE_ACCOUNT=details", "its certificate is spiffe://cluster.local/ns/default/sa/ratings");
  }

  @Test
  void aRegistrantThatAdvertisesAnotherHostsAddressIsRefused() throws Exception {
    // 192.0.2.7 is a documentation address: a claim only, nothing is sent there
    assertRegistrationRefused("default", "details", workload("details", "default", "details", "192.0.2.7"),
        "INSTANCE_IPS=192.0.2.7", "its connection comes from 127.0.0.1");
  }

  @Test
  void theReadOnlyPortTakesNoLoadReports() throws Exception {
    ManagedChannel readOnly = ControlPlaneChannels.plaintext(mesh.readOnlyAddress());
    try {
      Status status = loadReport(readOnly, Node.newBuilder().setId("forger").setMetadata(namespace("default")).build());
      assertThat(status.getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    } finally {
      readOnly.shutdownNow();
    }
  }

  @Test
  void aWorkloadRefusesAControlServerWhoseCertificateIsNotFromItsMeshRoot() throws Exception {
    // an impostor mesh-control with a CA of its own, where the workload's certificate comes from the real one
    try (MeshControl impostor = MeshControl.start(MeshControlOptions.ephemeral())) {
      var authority = mesh.control.ca().orElseThrow();
      Mesh.Builder workload = Mesh.builder().controlServers("127.0.0.1:" + impostor.xdsPort())
          .namespace("default").serviceAccount("reviews").readyTimeout(Duration.ofSeconds(2))
          .certificateAuthority("127.0.0.1:" + mesh.control.caGrpcPort(), authority.trustBundle().toPem(),
              authority.joinTokens().create("default", "reviews", Duration.ofMinutes(5)).value());
      try (Mesh fooled = workload.build()) {
        assertThatThrownBy(() -> fooled.awaitReady(Duration.ofSeconds(2))).isInstanceOf(MeshException.class)
            .hasMessageContaining("still waiting for");
      }
      assertThat(impostor.clients()).as("no stream reached the impostor").isEmpty();
    }
  }

  @Test
  void anOutsidersPlaintextEndpointReceivesNoRequest() throws Exception {
    // the outsider's server, and its try to register as a greeter on both ports
    AtomicInteger received = new AtomicInteger();
    com.sun.net.httpserver.HttpServer outsider = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    outsider.createContext("/", exchange -> {
      received.incrementAndGet();
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    outsider.start();
    try {
      WorkloadMetadata claim = new WorkloadMetadata("greeter", "default", "greeter", "greeter-evil",
          Map.of("app", "greeter", "version", "v1"), "127.0.0.1",
          List.of(ServicePort.of("grpc", 9000, outsider.getAddress().getPort())), null);
      for (String address : List.of(mesh.xdsAddress(), mesh.readOnlyAddress())) {
        ManagedChannel plaintext = ControlPlaneChannels.plaintext(address);
        try {
          refusal(ads(plaintext, claim.toNode("evil")));
        } finally {
          plaintext.shutdownNow();
        }
      }
      mesh.backend("v1");
      mesh.awaitWorkloads(1);
      var client = mesh.client();
      assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("v1", 20));
      assertThat(received.get()).as("requests that reached the outsider").isZero();
    } finally {
      outsider.stop(0);
    }
  }

  @Test
  void aLaterRequestCannotSwitchTheStreamToAnotherNamespace() throws Exception {
    try (ControlPlaneAccess.Channel channel = access.channel("default", "reviews")) {
      Node admitted = Node.newBuilder().setId("switcher").setMetadata(namespace("default")).build();
      CompletableFuture<Object> first = new CompletableFuture<>();
      java.util.concurrent.BlockingQueue<DiscoveryResponse> responses = new java.util.concurrent.LinkedBlockingQueue<>();
      StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel.channel())
          .streamAggregatedResources(new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse response) {
              responses.add(response);
              first.complete(response);
            }

            @Override
            public void onError(Throwable t) {
              first.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
            }
          });
      requests.onNext(DiscoveryRequest.newBuilder().setNode(admitted).setTypeUrl(LDS).build());
      assertThat(first.get(10, TimeUnit.SECONDS)).isInstanceOf(DiscoveryResponse.class);
      // the same stream now names another namespace, as a node of it
      requests.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId("switcher").setMetadata(namespace("shop")))
          .setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster").build());
      DiscoveryResponse clusters = responses.poll(10, TimeUnit.SECONDS);
      assertThat(clusters).isNotNull();
      assertThat(mesh.control.xds().profileKeys()).as("no snapshot was made for the namespace it switched to")
          .noneMatch(profile -> profile.startsWith("shop"));
      assertThat(mesh.control.clients()).filteredOn(c -> c.nodeId().equals("switcher"))
          .allSatisfy(c -> assertThat(c.namespace()).isEqualTo("default"));
      requests.onCompleted();
    }
  }

  @Test
  void aNamespaceThatIsNoNamespaceNameIsRefusedOnTheReadOnlyPort() throws Exception {
    ManagedChannel readOnly = ControlPlaneChannels.plaintext(mesh.readOnlyAddress());
    try {
      Status status = refusal(ads(readOnly, Node.newBuilder().setId("flooder").setMetadata(namespace("x;grpc;mtls")).build()));
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).contains("NAMESPACE=x;grpc;mtls, which is no namespace name");
      assertThat(mesh.control.xds().profileKeys()).noneMatch(profile -> profile.startsWith("x;"));
    } finally {
      readOnly.shutdownNow();
    }
  }

  @Test
  void aHostNameInInstanceIpsIsRefusedWithoutBeingLookedUp() throws Exception {
    assertRegistrationRefused("default", "details", workload("details", "default", "details", "localhost"),
        "INSTANCE_IPS=localhost", "registers the IP address it connects from");
  }

  @Test
  void anotherIdentityCannotTakeOverARegisteredNodeId() throws Exception {
    try (ControlPlaneAccess.Channel reviews = access.channel("default", "reviews");
         ControlPlaneAccess.Channel ratings = access.channel("default", "ratings")) {
      assertThat(ads(reviews.channel(), workload("reviews", "default", "reviews", "127.0.0.1").toNode("reviews-1"))
          .get(10, TimeUnit.SECONDS)).isInstanceOf(DiscoveryResponse.class);
      Await.until(() -> mesh.control.workloads().size() == 1, Duration.ofSeconds(5), "reviews to register");
      Status status = refusal(ads(ratings.channel(), workload("ratings", "default", "ratings", "127.0.0.1").toNode("reviews-1")));
      assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(status.getDescription()).contains("node id reviews-1 is registered by another identity");
      assertThat(mesh.control.workloads()).singleElement()
          .satisfies(w -> assertThat(w.metadata().service()).isEqualTo("reviews"));
    }
  }

  @Test
  void loadReportsForAnotherNamespaceAreRefused() throws Exception {
    try (ControlPlaneAccess.Channel shop = access.channel("shop", "web")) {
      Status status = loadReport(shop.channel(),
          Node.newBuilder().setId("productpage-1").setMetadata(namespace("default")).build());
      assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(status.getDescription()).contains("need a certificate of that namespace");
      assertThat(mesh.control.xds().loadReports().edges()).isEmpty();
    }
  }

  @Test
  void aWorkloadGroupNarrowsWhoMayServeItsService() throws Exception {
    assertThat(mesh.control.apply("test", """
        apiVersion: networking.istio.io/v1
        kind: WorkloadGroup
        metadata:
          name: details
          namespace: default
        spec:
          metadata:
            labels:
              app: details
          template:
            serviceAccount: bookinfo-details
        """).accepted()).isTrue();
    // an identity of the right namespace, but not the one the group names
    try (ControlPlaneAccess.Channel other = access.channel("default", "details")) {
      Status status = refusal(ads(other.channel(), workload("details", "default", "details", "127.0.0.1").toNode("other")));
      assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(status.getDescription()).contains("WorkloadGroup [WorkloadGroup/default/details]")
          .contains("lets service accounts [bookinfo-details] serve details.default, not details");
    }
    assertThat(mesh.control.workloads()).isEmpty();
    // the one it names registers, and other services of the namespace are as free as before
    try (ControlPlaneAccess.Channel named = access.channel("default", "bookinfo-details");
         ControlPlaneAccess.Channel reviews = access.channel("default", "reviews")) {
      assertThat(ads(named.channel(), workload("details", "default", "bookinfo-details", "127.0.0.1").toNode("named"))
          .get(10, TimeUnit.SECONDS)).isInstanceOf(DiscoveryResponse.class);
      assertThat(ads(reviews.channel(), workload("reviews", "default", "reviews", "127.0.0.1").toNode("reviews-1"))
          .get(10, TimeUnit.SECONDS)).isInstanceOf(DiscoveryResponse.class);
      Await.until(() -> mesh.control.workloads().size() == 2, Duration.ofSeconds(5), "both to register");
    }
  }

  @Test
  void theXdsCertificateNamesTheServerAndItsOwnSpiffeIdAsOpensslSeesIt() throws Exception {
    String names = OpensslClient.subjectAltNames(mesh.xdsAddress(), "-alpn", "h2");
    assertThat(names).contains("URI:spiffe://cluster.local/ns/istio-system/sa/mesh-control", "IP Address:127.0.0.1");
    assertThat(mesh.control.identity().toString()).isEqualTo("spiffe://cluster.local/ns/istio-system/sa/mesh-control");
  }

  private static com.google.protobuf.Struct namespace(String name) {
    return com.google.protobuf.Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, com.google.protobuf.Value.newBuilder().setStringValue(name).build()).build();
  }
}
