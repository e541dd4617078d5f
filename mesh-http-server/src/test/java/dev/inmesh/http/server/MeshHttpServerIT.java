package dev.inmesh.http.server;

import static dev.inmesh.http.server.InboundFixture.mtlsHttp;
import static dev.inmesh.http.server.InboundFixture.plaintextHttp;
import static dev.inmesh.http.server.InboundFixture.send;
import static dev.inmesh.http.server.InboundFixture.tlsHttp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.inbound.InboundMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The JDK server behind the door, with a real mesh-control and its CA: PeerAuthentication decides
 * what the port accepts, AuthorizationPolicy who may do what, and the metrics say which was which.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshHttpServerIT {
  private static final String PRODUCTPAGE = "spiffe://cluster.local/ns/default/sa/productpage";

  InboundFixture mesh;
  InboundFixture otherMesh;
  Mesh reviews;
  Mesh productpage;
  Mesh ratings;
  Mesh foreigner;
  PrometheusMeterRegistry registry;
  MeshHttpServer server;
  int port;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture();
    otherMesh = new InboundFixture();
    port = InboundFixture.freePort();
    reviews = mesh.server("reviews", port);
    productpage = mesh.client("productpage");
    ratings = mesh.client("ratings");
    // the same SPIFFE ID, from another mesh's CA
    foreigner = otherMesh.client("productpage");
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    server = MeshHttpServer.builder(reviews, port).meterRegistry(registry).build();
    server.createContext("/", exchange -> {
      PeerInfo peer = (PeerInfo) exchange.getAttribute(PeerInfo.ATTRIBUTE);
      byte[] body = (peer.security().istioName() + " " + peer.principal().map(Object::toString).orElse("-") + " "
          + exchange.getRequestMethod() + " " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
  }

  @AfterEach
  void removeAuthorization() {
    mesh.delete("AuthorizationPolicy", "reviews-viewer");
  }

  @AfterAll
  void stop() throws Exception {
    server.close();
    mesh.close();
    otherMesh.close();
  }

  private String http(String path) {
    return "http://127.0.0.1:" + port + path;
  }

  private String https(String path) {
    return "https://127.0.0.1:" + port + path;
  }

  private double requests(String securityPolicy, String principal, String code) {
    return registry.find(InboundMetrics.REQUESTS)
        .tags("connection_security_policy", securityPolicy, "source_principal", principal, "response_code", code)
        .counters().stream().mapToDouble(Counter::count).sum();
  }

  private double connections(String securityPolicy, String reason) {
    return registry.find(InboundMetrics.CONNECTIONS).tags("security_policy", securityPolicy, "reason", reason)
        .counters().stream().mapToDouble(Counter::count).sum();
  }

  @Test
  void permissiveServesPlaintextAndMutualTlsAndTheMetricsTellWhichWasWhich() throws IOException {
    mesh.mtlsMode(reviews, port, MtlsMode.PERMISSIVE);
    double plaintextBefore = requests("none", "unknown", "200");
    double mtlsBefore = requests("mutual_tls", PRODUCTPAGE, "200");

    HttpResponse<String> plaintext = send(plaintextHttp(), "GET", http("/reviews/1?full=true"));
    HttpResponse<String> mtls = send(mtlsHttp(productpage), "GET", https("/reviews/1"));

    assertThat(plaintext.statusCode()).isEqualTo(200);
    assertThat(plaintext.body()).isEqualTo("none - GET /reviews/1?full=true");
    assertThat(mtls.statusCode()).isEqualTo(200);
    assertThat(mtls.body()).isEqualTo("mutual_tls " + PRODUCTPAGE + " GET /reviews/1");
    InboundFixture.awaitCount(() -> requests("none", "unknown", "200"), plaintextBefore + 1, "requests(\"none\", \"unknown\", \"200\")");
    InboundFixture.awaitCount(() -> requests("mutual_tls", PRODUCTPAGE, "200"), mtlsBefore + 1, "requests(\"mutual_tls\", PRODUCTPAGE, \"200\")");
    assertThat(connections("none", "accepted")).isPositive();
    assertThat(connections("mutual_tls", "accepted")).isPositive();
    assertThat(registry.scrape())
        .contains("istio_requests_total{", "connection_security_policy=\"mutual_tls\"", "connection_security_policy=\"none\"",
            "source_workload_namespace=\"default\"", "destination_service=\"reviews.default.svc.cluster.local\"")
        .contains("istio_request_duration_milliseconds_bucket{");
  }

  @Test
  void strictRefusesPlaintextAndACertificateOfAnotherCaButServesTheMesh() throws IOException {
    mesh.mtlsMode(reviews, port, MtlsMode.STRICT);
    double plaintextRefused = connections("refused", "plaintext_under_strict");
    double handshakesFailed = connections("refused", "handshake_failed");

    assertThatThrownBy(() -> send(plaintextHttp(), "GET", http("/reviews/1"))).isInstanceOf(IOException.class);
    assertThat(connections("refused", "plaintext_under_strict")).isGreaterThan(plaintextRefused);
    // the foreigner trusts this mesh's server, so that the server is the one to refuse its certificate
    assertThatThrownBy(() -> send(tlsHttp(Optional.of(foreigner), productpage), "GET", https("/reviews/1")))
        .isInstanceOf(IOException.class);
    assertThat(connections("refused", "handshake_failed")).isGreaterThan(handshakesFailed);
    double afterForeigner = connections("refused", "handshake_failed");
    assertThatThrownBy(() -> send(tlsHttp(Optional.empty(), productpage), "GET", https("/reviews/1")))
        .isInstanceOf(IOException.class);
    assertThat(connections("refused", "handshake_failed")).isGreaterThan(afterForeigner);
    HttpResponse<String> mtls = send(mtlsHttp(productpage), "GET", https("/reviews/1"));

    assertThat(mtls.statusCode()).isEqualTo(200);
    assertThat(mtls.body()).startsWith("mutual_tls " + PRODUCTPAGE);
  }

  @Test
  void disableRefusesTlsAndServesPlaintext() throws IOException {
    mesh.mtlsMode(reviews, port, MtlsMode.DISABLE);
    double tlsRefused = connections("refused", "tls_under_disable");

    assertThatThrownBy(() -> send(mtlsHttp(productpage), "GET", https("/reviews/1"))).isInstanceOf(IOException.class);
    HttpResponse<String> plaintext = send(plaintextHttp(), "GET", http("/reviews/1"));

    assertThat(plaintext.statusCode()).isEqualTo(200);
    assertThat(plaintext.body()).startsWith("none -");
    // the JDK client retries a GET once on a closed connection, so the door may count two
    assertThat(connections("refused", "tls_under_disable")).isGreaterThan(tlsRefused);
  }

  @Test
  void anAllowPolicyForOnePrincipalOnGetDeniesEveryoneElseAndOtherMethodsWithEnvoysBody() throws IOException {
    mesh.mtlsMode(reviews, port, MtlsMode.PERMISSIVE);
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: reviews-viewer
          namespace: default
        spec:
          selector:
            matchLabels:
              app: reviews
          action: ALLOW
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/default/sa/productpage"]
            to:
            - operation:
                methods: ["GET"]
        """);
    InboundFixture.awaitPolicy(reviews, port, p -> !p.authorization().engines().isEmpty(), "the ALLOW policy on port " + port);
    double denied = requests("mutual_tls", "spiffe://cluster.local/ns/default/sa/ratings", "403");

    HttpResponse<String> allowed = send(mtlsHttp(productpage), "GET", https("/reviews/1"));
    HttpResponse<String> otherPrincipal = send(mtlsHttp(ratings), "GET", https("/reviews/1"));
    HttpResponse<String> otherMethod = send(mtlsHttp(productpage), "POST", https("/reviews/1"));
    HttpResponse<String> plaintext = send(plaintextHttp(), "GET", http("/reviews/1"));

    assertThat(allowed.statusCode()).isEqualTo(200);
    for (HttpResponse<String> response : java.util.List.of(otherPrincipal, otherMethod, plaintext)) {
      assertThat(response.statusCode()).isEqualTo(403);
      assertThat(response.body()).isEqualTo("RBAC: access denied");
    }
    InboundFixture.awaitCount(() -> requests("mutual_tls", "spiffe://cluster.local/ns/default/sa/ratings", "403"), denied + 1, "requests(\"mutual_tls\", \"spiffe://cluster.local/ns/default/sa/ratings\", \"403\")");
  }

  @Test
  void aPortTheMeshDoesNotServeIsRefusedNamingTheServedOnes() {
    assertThatThrownBy(() -> MeshHttpServer.create(reviews, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("port 1 is not a port this Mesh serves")
        .hasMessageContaining("it serves target ports " + port + " (http)");
  }
}
