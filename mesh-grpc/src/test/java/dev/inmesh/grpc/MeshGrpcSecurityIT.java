package dev.inmesh.grpc;

import static dev.inmesh.grpc.GrpcMesh.call;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.MtlsMode;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
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
 * A {@link MeshGrpc#server} under STRICT, with an AuthorizationPolicy that lets productpage call
 * the greeter: a plaintext client is refused, ratings gets PERMISSION_DENIED, productpage is
 * served over mTLS. Then DISABLE: plaintext is served.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MeshGrpcSecurityIT {
  GrpcMesh mesh;
  GrpcMesh.Backend greeter;
  ManagedChannel productpage;
  ManagedChannel ratings;

  @BeforeAll
  void start() throws Exception {
    mesh = new GrpcMesh();
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: default}
        spec: {mtls: {mode: STRICT}}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: greeter-callers, namespace: default}
        spec:
          selector: {matchLabels: {app: greeter}}
          action: ALLOW
          rules:
          - from: [{source: {principals: ["cluster.local/ns/default/sa/productpage"]}}]
        """);
    greeter = mesh.backend("greeter", "v1", true);
    mesh.awaitWorkloads(1);
    Mesh productpageMesh = mesh.client("productpage", true);
    Mesh ratingsMesh = mesh.client("ratings", true);
    productpage = mesh.channel(productpageMesh, "greeter:9000");
    ratings = mesh.channel(ratingsMesh, "greeter:9000");
    mesh.awaitConverged();
  }

  private double requests(String reporter, String key, String value) {
    return mesh.registry.find("istio.requests").tags("reporter", reporter, key, value, "grpc_response_status", "0")
        .counters().stream().mapToDouble(c -> c.count()).sum();
  }

  @AfterAll
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  @Order(1)
  void strictServesTheAllowedIdentityOverMutualTlsAndRefusesEveryoneElse() throws Exception {
    assertThat(call(productpage, Map.of())).isEqualTo("v1");
    assertThat(greeter.lastPeer.get()).isEqualTo("spiffe://cluster.local/ns/default/sa/productpage");
    assertThat(requests("destination", "source_principal", "spiffe://cluster.local/ns/default/sa/productpage"))
        .as("the server's istio_requests_total").isEqualTo(1);
    assertThat(mesh.registry.get("istio.requests").tags("reporter", "destination", "source_principal",
        "spiffe://cluster.local/ns/default/sa/productpage").counter().getId().getTag("connection_security_policy"))
        .isEqualTo("mutual_tls");
    assertThat(requests("source", "destination_principal", "spiffe://cluster.local/ns/default/sa/greeter"))
        .as("the client's istio_requests_total").isEqualTo(1);
    assertThat(mesh.registry.get("istio.requests").tags("reporter", "source").counter().getId().getTag("destination_service"))
        .isEqualTo("greeter.default.svc.cluster.local");

    assertThat(call(ratings, Map.of())).isEqualTo("PERMISSION_DENIED");

    int calls = greeter.calls.get();
    ManagedChannel plaintext = ManagedChannelBuilder.forAddress("127.0.0.1", greeter.server.getPort()).usePlaintext().build();
    try {
      assertThat(call(plaintext, Map.of())).isEqualTo("UNAVAILABLE");
    } finally {
      plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertThat(greeter.calls.get()).as("refused calls never reach the service").isEqualTo(calls);
  }

  @Test
  @Order(2)
  void disableServesPlaintext() throws Exception {
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: greeter, namespace: default}
        spec:
          selector: {matchLabels: {app: greeter}}
          mtls: {mode: DISABLE}
        """);
    dev.inmesh.testing.Await.until(() -> greeter.mesh.inbound(greeter.server.getPort())
        .filter(p -> p.mode() == MtlsMode.DISABLE).isPresent(), GrpcMesh.WAIT, "the greeter port to be DISABLE");
    ManagedChannel plaintext = ManagedChannelBuilder.forAddress("127.0.0.1", greeter.server.getPort()).usePlaintext().build();
    try {
      // plaintext carries no principal, and the ALLOW policy names one: authorization still refuses
      assertThat(call(plaintext, Map.of())).isEqualTo("PERMISSION_DENIED");
      // auto-mTLS follows the port to plaintext; the first call after the flip may still meet the old connection
      dev.inmesh.testing.Await.until(() -> call(productpage, Map.of()).equals("PERMISSION_DENIED"), GrpcMesh.WAIT,
          "productpage's channel to follow the port to plaintext");
    } finally {
      plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      mesh.delete("PeerAuthentication", "greeter");
    }
  }
}
