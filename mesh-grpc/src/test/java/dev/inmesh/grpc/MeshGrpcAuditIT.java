package dev.inmesh.grpc;

import static dev.inmesh.grpc.GrpcMesh.call;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.internal.inbound.InboundMetrics;
import dev.inmesh.internal.telemetry.AuthorizationLog;
import dev.inmesh.testing.AccessLogCapture;
import dev.inmesh.testing.Await;
import io.grpc.ManagedChannel;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * AUDIT and dry-run policies on a proxyless gRPC server ({@link MeshGrpc#server}), whose RBAC
 * filter is grpc-java's and ignores both: Inmesh still writes the audit line and counts and logs
 * what the dry-run policy would decide for the calls grpc-java's RBAC filter lets through, while
 * grpc-java enforces the ALLOW policy (and refuses the rest before Inmesh sees them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshGrpcAuditIT {
  private static final String GREET = "/" + "inmesh.testing.Greeter/SayHello";

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
          rules:
          - from: [{source: {principals: ["cluster.local/ns/default/sa/productpage"]}}]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: audit-greeter, namespace: default}
        spec:
          selector: {matchLabels: {app: greeter}}
          action: AUDIT
          rules:
          - {}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: shadow-deny-productpage
          namespace: default
          annotations: {"istio.io/dry-run": "true"}
        spec:
          selector: {matchLabels: {app: greeter}}
          action: DENY
          rules:
          - from: [{source: {principals: ["cluster.local/ns/default/sa/productpage"]}}]
        """);
    greeter = mesh.backend("greeter", "v1", true);
    mesh.awaitWorkloads(1);
    Await.until(() -> greeter.mesh.inbound(greeter.server.getPort())
        .filter(p -> !p.authorization().shadowEngines().isEmpty() && p.authorization().engines().size() == 2)
        .isPresent(), GrpcMesh.WAIT, "the greeter's policies");
    Mesh productpageMesh = mesh.client("productpage", true);
    Mesh ratingsMesh = mesh.client("ratings", true);
    productpage = mesh.channel(productpageMesh, "greeter:9000");
    ratings = mesh.channel(ratingsMesh, "greeter:9000");
    mesh.awaitConverged();
  }

  @AfterAll
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  void auditsTheAllowedCallAndCountsWhatTheDryRunWouldDecide() {
    int port = greeter.server.getPort();
    try (AccessLogCapture audit = new AccessLogCapture(AuthorizationLog.AUDIT_LOGGER);
        AccessLogCapture dryRun = new AccessLogCapture(AuthorizationLog.DRY_RUN_LOGGER)) {
      assertThat(call(productpage, Map.of())).isEqualTo("v1");
      assertThat(call(ratings, Map.of())).isEqualTo("PERMISSION_DENIED");

      // grpc-java's RBAC filter refuses ratings before any interceptor: only the allowed call is audited
      assertThat(audit.lines()).containsExactly(
          "AUDIT ns[default]-policy[audit-greeter]-rule[0] \"POST " + GREET + "\" port=" + port
              + " source=spiffe://cluster.local/ns/default/sa/productpage decision=allowed");
      assertThat(dryRun.lines()).singleElement().asString()
          .startsWith("shadow denied, matched policy ns[default]-policy[shadow-deny-productpage]-rule[0] \"POST " + GREET);
    }
    assertThat(mesh.registry.get(InboundMetrics.SHADOW_DENIED).tag("port", Integer.toString(port)).counter().count())
        .isEqualTo(1);
    assertThat(mesh.registry.find(InboundMetrics.SHADOW_ALLOWED).counters()).isEmpty();
  }
}
