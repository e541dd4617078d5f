package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.internal.inbound.InboundMetrics;
import dev.inmesh.internal.telemetry.AuthorizationLog;
import dev.inmesh.testing.AccessLogCapture;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.IstioSamples;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Istio's authorization policies that decide nothing, end to end with every part real: a
 * {@code istio.io/dry-run} DENY policy (the shape of Istio's dry-run task) is counted and logged and
 * the request still succeeds; an AUDIT policy writes an audit line for the requests it matches,
 * whatever the enforced policies decide.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DryRunAndAuditIT {
  private static final String CURL = "spiffe://cluster.local/ns/default/sa/curl";

  InboundFixture mesh;
  PrometheusMeterRegistry registry;
  Mesh httpbinMesh;
  MeshHttpServer httpbin;
  int port;
  OkHttpClient curl;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture();
    port = InboundFixture.freePort();
    httpbinMesh = mesh.server("httpbin", port);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    httpbin = MeshHttpServer.builder(httpbinMesh, port).meterRegistry(registry).build();
    httpbin.createContext("/", exchange -> {
      byte[] body = ("httpbin " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    httpbin.start();
    Mesh curlMesh = mesh.client("curl");
    curlMesh.awaitReady(InboundFixture.WAIT);
    curl = MeshHttp.client(curlMesh);
  }

  @AfterEach
  void removePolicies() {
    mesh.delete("AuthorizationPolicy", "shadow-deny-headers");
    mesh.delete("AuthorizationPolicy", "deny-path-headers");
    mesh.delete("AuthorizationPolicy", "audit-headers");
    mesh.delete("AuthorizationPolicy", "deny-ip");
    Await.until(mesh.control::converged, InboundFixture.WAIT, "every client to hold the config without the policies");
  }

  @AfterAll
  void stop() {
    httpbin.close();
    mesh.close();
  }

  @Test
  void aDryRunDenyIsCountedAndLoggedAndTheRequestStillSucceeds() throws IOException {
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: shadow-deny-headers
          namespace: default
          annotations:
            "istio.io/dry-run": "true"
        spec:
          selector:
            matchLabels:
              app: httpbin
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/headers"]
        """);
    awaitShadowPolicy();
    double deniedBefore = shadow(InboundMetrics.SHADOW_DENIED);
    double allowedBefore = shadow(InboundMetrics.SHADOW_ALLOWED);

    try (AccessLogCapture dryRunLog = new AccessLogCapture(AuthorizationLog.DRY_RUN_LOGGER)) {
      assertThat(get("/headers")).isEqualTo("200 httpbin /headers");
      assertThat(get("/ip")).isEqualTo("200 httpbin /ip");

      assertThat(shadow(InboundMetrics.SHADOW_DENIED)).isEqualTo(deniedBefore + 1);
      assertThat(shadow(InboundMetrics.SHADOW_ALLOWED)).isEqualTo(allowedBefore + 1);
      assertThat(registry.scrape()).contains("inmesh_authz_shadow_denied_requests_total{port=\"" + port + "\"}");
      assertThat(dryRunLog.lines()).containsExactly(
          "shadow denied, matched policy ns[default]-policy[shadow-deny-headers]-rule[0] \"GET /headers\" port=" + port
              + " source=" + CURL + " istio_dry_run_deny_shadow_engine_result=denied"
              + " istio_dry_run_deny_shadow_effective_policy_id=ns[default]-policy[shadow-deny-headers]-rule[0]",
          "shadow allowed, matched policy none \"GET /ip\" port=" + port + " source=" + CURL
              + " istio_dry_run_allow_shadow_engine_result=allowed");
    }
  }

  @Test
  void istiosDryRunTaskPolicyIsCountedAndNotEnforced() throws IOException {
    Optional<Path> task = IstioSamples.file("istio-io-tasks/security-authz-dry-run.yaml");
    Assumptions.assumeTrue(task.isPresent(), "shared/istio-samples/istio-io-tasks/security-authz-dry-run.yaml not found");
    // the task applies it with kubectl -n foo; here the workloads are in default
    ApplyResult result = mesh.control.apply("security-authz-dry-run.yaml", Files.readString(task.get())
        .replace("  name: deny-path-headers\n", "  name: deny-path-headers\n  namespace: default\n"));
    assertThat(result.errors()).isEmpty();
    awaitShadowPolicy();
    double deniedBefore = shadow(InboundMetrics.SHADOW_DENIED);

    try (AccessLogCapture dryRunLog = new AccessLogCapture(AuthorizationLog.DRY_RUN_LOGGER)) {
      assertThat(get("/headers")).isEqualTo("200 httpbin /headers");

      assertThat(shadow(InboundMetrics.SHADOW_DENIED)).isEqualTo(deniedBefore + 1);
      assertThat(dryRunLog.lines()).singleElement().asString()
          .startsWith("shadow denied, matched policy ns[default]-policy[deny-path-headers]-rule[0]");
    }
  }

  @Test
  void anAuditPolicyWritesAnAuditLineForWhatItMatchesAllowedOrDenied() throws IOException {
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: audit-headers
          namespace: default
        spec:
          selector:
            matchLabels:
              app: httpbin
          action: AUDIT
          rules:
          - to:
            - operation:
                paths: ["/headers", "/ip"]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-ip
          namespace: default
        spec:
          selector:
            matchLabels:
              app: httpbin
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/ip"]
        """);
    InboundFixture.awaitPolicy(httpbinMesh, port, p -> p.authorization().engines().size() == 2,
        "the AUDIT and DENY policies");

    try (AccessLogCapture auditLog = new AccessLogCapture(AuthorizationLog.AUDIT_LOGGER)) {
      assertThat(get("/headers")).isEqualTo("200 httpbin /headers");
      assertThat(get("/ip")).isEqualTo("403 RBAC: access denied");
      assertThat(get("/status/200")).isEqualTo("200 httpbin /status/200");

      assertThat(auditLog.lines()).containsExactly(
          "AUDIT ns[default]-policy[audit-headers]-rule[0] \"GET /headers\" port=" + port + " source=" + CURL
              + " decision=allowed",
          "AUDIT ns[default]-policy[audit-headers]-rule[0] \"GET /ip\" port=" + port + " source=" + CURL
              + " decision=denied");
    }
  }

  private void awaitShadowPolicy() {
    InboundFixture.awaitPolicy(httpbinMesh, port, p -> !p.authorization().shadowEngines().isEmpty(),
        "the dry-run policy");
  }

  private double shadow(String name) {
    return registry.find(name).tag("port", Integer.toString(port)).counters().stream().mapToDouble(Counter::count).sum();
  }

  private String get(String path) throws IOException {
    try (Response response = curl.newCall(new Request.Builder().url("http://httpbin:9080" + path).build()).execute()) {
      return response.code() + " " + response.body().string();
    }
  }
}
