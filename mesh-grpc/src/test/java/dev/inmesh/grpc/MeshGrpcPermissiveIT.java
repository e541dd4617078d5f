package dev.inmesh.grpc;

import static dev.inmesh.grpc.GrpcMesh.call;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.RecordingTracer;
import dev.inmesh.tracing.MicrometerTracing;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * PERMISSIVE for gRPC on one port, which proxyless gRPC with Istio lacks: a
 * {@link MeshGrpc#permissiveServer} serves a mesh client over mTLS and a plaintext client on the
 * same port, tells them apart in its metrics, records a server span per call, then follows STRICT
 * and an AuthorizationPolicy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MeshGrpcPermissiveIT {
  final RecordingTracer tracer = new RecordingTracer();
  GrpcMesh mesh;
  Mesh greeterMesh;
  Server server;
  int port;
  ManagedChannel productpage;
  ManagedChannel ratings;
  ManagedChannel plaintext;

  @BeforeAll
  void start() throws Exception {
    mesh = new GrpcMesh();
    port = GrpcMesh.freePort();
    greeterMesh = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default")
        .meterRegistry(mesh.registry).service("greeter").serviceAccount("greeter").label("app", "greeter")
        .servePort("http2", 9000, port).tracing(new MicrometerTracing(tracer.tracer())), "greeter").build();
    ServerServiceDefinition greeter = ServerServiceDefinition.builder(Greeter.SERVICE)
        .addMethod(Greeter.SAY_HELLO, ServerCalls.asyncUnaryCall((name, response) -> {
          var peer = MeshGrpc.PEER.get();
          response.onNext(peer.security().istioName() + ": " + peer.principal().map(Object::toString).orElse("-"));
          response.onCompleted();
        }))
        .build();
    server = MeshGrpc.permissiveServer(greeterMesh, port, greeter).start();
    greeterMesh.awaitReady(GrpcMesh.WAIT);
    Await.until(() -> greeterMesh.inbound(port).isPresent(), GrpcMesh.WAIT, "the greeter's inbound policy");
    productpage = mesh.channel(mesh.client("productpage", true), "greeter:9000");
    ratings = mesh.channel(mesh.client("ratings", true), "greeter:9000");
    plaintext = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    mesh.awaitConverged();
  }

  @AfterAll
  void stop() throws Exception {
    plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    greeterMesh.close();
    mesh.close();
  }

  private static String answer(ManagedChannel channel) {
    try {
      return Greeter.sayHello(channel, "x", Map.of(), java.time.Duration.ofSeconds(5));
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().getCode() + " " + e.getStatus().getDescription();
    }
  }

  private double requests(String securityPolicy) {
    return mesh.registry.find("istio.requests").tags("reporter", "destination", "connection_security_policy", securityPolicy,
        "request_protocol", "grpc", "grpc_response_status", "0").counters().stream().mapToDouble(c -> c.count()).sum();
  }

  @Test
  @Order(1)
  void permissiveServesMutualTlsAndPlaintextOnOnePort() {
    assertThat(greeterMesh.inbound(port).orElseThrow().mode()).isEqualTo(MtlsMode.PERMISSIVE);

    assertThat(answer(productpage)).isEqualTo("mutual_tls: spiffe://cluster.local/ns/default/sa/productpage");
    assertThat(answer(plaintext)).isEqualTo("none: -");
    Await.until(() -> requests("mutual_tls") == 1 && requests("none") == 1, GrpcMesh.WAIT,
        "one mTLS and one plaintext call counted");
  }

  @Test
  @Order(2)
  void theDoorRecordsAServerSpanThatContinuesTheCallersTrace() {
    String trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    assertThat(Greeter.sayHello(plaintext, "x", Map.of("traceparent", "00-" + trace + "-00f067aa0ba902b7-01"),
        Duration.ofSeconds(5))).isEqualTo("none: -");
    Await.until(() -> spans(trace).size() == 1, GrpcMesh.WAIT, "the greeter's server span");

    SpanData served = spans(trace).get(0);
    assertThat(served.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(served.getName()).isEqualTo("greeter.default.svc.cluster.local:9000/*");
    assertThat(served.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(served.getAttributes().get(AttributeKey.stringKey("grpc.path"))).isEqualTo("/inmesh.testing.Greeter/SayHello");
    assertThat(served.getAttributes().get(AttributeKey.stringKey("grpc.status_code"))).isEqualTo("0");
  }

  private List<SpanData> spans(String traceId) {
    return tracer.spans().stream().filter(span -> span.getTraceId().equals(traceId)).toList();
  }

  @Test
  @Order(3)
  void strictRefusesPlaintextAndAuthorizationRefusesRatings() {
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: default}
        spec: {mtls: {mode: STRICT}}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: no-ratings, namespace: default}
        spec:
          selector: {matchLabels: {app: greeter}}
          action: DENY
          rules:
          - from: [{source: {principals: ["cluster.local/ns/default/sa/ratings"]}}]
        """);
    Await.until(() -> greeterMesh.inbound(port).filter(p -> p.mode() == MtlsMode.STRICT
        && !p.authorization().engines().isEmpty()).isPresent(), GrpcMesh.WAIT, "STRICT and the DENY policy");

    ManagedChannel fresh = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      assertThat(call(fresh, Map.of())).as("a new plaintext connection is refused at the door").isEqualTo("UNAVAILABLE");
    } finally {
      fresh.shutdownNow();
    }
    assertThat(answer(plaintext)).as("calls on a plaintext connection opened under PERMISSIVE are refused")
        .isEqualTo("PERMISSION_DENIED RBAC: access denied");
    assertThat(answer(productpage)).isEqualTo("mutual_tls: spiffe://cluster.local/ns/default/sa/productpage");
    assertThat(answer(ratings)).isEqualTo("PERMISSION_DENIED RBAC: access denied");
  }
}
