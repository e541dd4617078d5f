package dev.inmesh.http.server;

import static dev.inmesh.http.server.InboundFixture.mtlsHttp;
import static dev.inmesh.http.server.InboundFixture.plaintextHttp;
import static dev.inmesh.http.server.InboundFixture.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.inbound.InboundMetrics;
import dev.inmesh.testing.AccessLogCapture;
import dev.inmesh.testing.Await;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.EnumSet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Jetty 12 on loopback behind a door, authorizing with {@link MeshServletFilter}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshServletFilterIT {
  private static final String PRODUCTPAGE = "spiffe://cluster.local/ns/default/sa/productpage";

  InboundFixture mesh;
  Mesh details;
  Server jetty;
  MeshInbound door;
  SimpleMeterRegistry registry = new SimpleMeterRegistry();
  int port;

  /** Echoes what the filter handed over about the caller. */
  static final class PeerServlet extends HttpServlet {
    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
      PeerInfo peer = (PeerInfo) request.getAttribute(PeerInfo.ATTRIBUTE);
      response.setContentType("text/plain");
      response.getWriter().print(peer.security().istioName() + " " + peer.principal().map(Object::toString).orElse("-")
          + " " + request.getMethod() + " " + request.getRequestURI());
    }
  }

  /** Echoes the headers end-user authentication changes. */
  static final class HeadersServlet extends HttpServlet {
    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
      response.setContentType("text/plain");
      response.getWriter().print("authorization=" + request.getHeader("Authorization") + " x-user="
          + java.util.Collections.list(request.getHeaders("x-user")) + " names-authorization="
          + java.util.Collections.list(request.getHeaderNames()).stream().anyMatch("authorization"::equalsIgnoreCase));
    }
  }

  @BeforeAll
  void start() throws Exception {
    mesh = new InboundFixture();
    port = InboundFixture.freePort();
    details = mesh.server("details", port);

    jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    connector.open();
    door = MeshInbound.builder(details, port)
        .backend(new InetSocketAddress("127.0.0.1", connector.getLocalPort()))
        .meterRegistry(registry)
        .start();
    ServletContextHandler context = new ServletContextHandler();
    context.addFilter(new FilterHolder(new MeshServletFilter(door)), "/*", EnumSet.of(DispatcherType.REQUEST));
    context.addServlet(new ServletHolder(new PeerServlet()), "/*");
    context.addServlet(new ServletHolder(new HeadersServlet()), "/headers/*");
    jetty.setHandler(context);
    jetty.start();
  }

  @AfterEach
  void removeAuthorization() {
    mesh.delete("AuthorizationPolicy", "details-admin");
  }

  @AfterAll
  void stop() throws Exception {
    door.close();
    jetty.stop();
    mesh.close();
  }

  private double requests(String securityPolicy, String code) {
    return registry.find(InboundMetrics.REQUESTS).tags("connection_security_policy", securityPolicy, "response_code", code)
        .counters().stream().mapToDouble(Counter::count).sum();
  }

  @Test
  void underStrictTheServletSeesTheCallersSpiffeIdAndPlaintextNeverReachesJetty() throws IOException {
    mesh.mtlsMode(details, port, MtlsMode.STRICT);
    double mtlsBefore = requests("mutual_tls", "200");
    double plaintextBefore = requests("none", "200");

    HttpResponse<String> mtls;
    try (AccessLogCapture log = new AccessLogCapture()) {
      mtls = send(mtlsHttp(mesh.client("productpage")), "GET", "https://127.0.0.1:" + port + "/details/0");
      // one line in Envoy's default format
      Await.until(() -> log.lines().size() == 1, Duration.ofSeconds(5), "the access log line", () -> log.lines().toString());
      assertThat(log.lines().get(0)).contains("\"GET /details/0 HTTP/1.1\" 200 - ");
    }

    assertThat(mtls.statusCode()).isEqualTo(200);
    assertThat(mtls.body()).isEqualTo("mutual_tls " + PRODUCTPAGE + " GET /details/0");
    assertThatThrownBy(() -> send(plaintextHttp(), "GET", "http://127.0.0.1:" + port + "/details/0"))
        .isInstanceOf(IOException.class);
    InboundFixture.awaitCount(() -> requests("mutual_tls", "200"), mtlsBefore + 1, "requests(\"mutual_tls\", \"200\")");
    assertThat(requests("none", "200")).isEqualTo(plaintextBefore);
  }

  @Test
  void aDenyPolicyOnAPathAnswersEnvoysForbiddenBeforeTheServletRuns() throws IOException {
    mesh.mtlsMode(details, port, MtlsMode.PERMISSIVE);
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: details-admin
          namespace: default
        spec:
          selector:
            matchLabels:
              app: details
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/admin/*"]
        """);
    InboundFixture.awaitPolicy(details, port, p -> !p.authorization().engines().isEmpty(), "the DENY policy");
    double deniedBefore = requests("none", "403");
    double servedBefore = requests("none", "200");

    HttpResponse<String> admin = send(plaintextHttp(), "GET", "http://127.0.0.1:" + port + "/admin/users");
    HttpResponse<String> details0 = send(plaintextHttp(), "GET", "http://127.0.0.1:" + port + "/details/0?x=1");

    assertThat(admin.statusCode()).isEqualTo(403);
    assertThat(admin.body()).isEqualTo("RBAC: access denied");
    assertThat(details0.statusCode()).isEqualTo(200);
    assertThat(details0.body()).isEqualTo("none - GET /details/0");
    InboundFixture.awaitCount(() -> requests("none", "403"), deniedBefore + 1, "requests(\"none\", \"403\")");
    InboundFixture.awaitCount(() -> requests("none", "200"), servedBefore + 1, "requests(\"none\", \"200\")");
  }

  @Test
  void theServletSeesTheRequestAsEndUserAuthenticationChangedIt() throws Exception {
    mesh.mtlsMode(details, port, MtlsMode.PERMISSIVE);
    com.nimbusds.jose.jwk.RSAKey key = new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048).keyID("k").generate();
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata:
          name: details-jwt
          namespace: default
        spec:
          selector:
            matchLabels:
              app: details
          jwtRules:
          - issuer: https://issuer.inmesh.test
            jwks: '%s'
            outputClaimToHeaders:
            - header: x-user
              claim: sub
        """.formatted(new com.nimbusds.jose.jwk.JWKSet(key.toPublicJWK()).toString(true)));
    try {
      InboundFixture.awaitPolicy(details, port, p -> !p.authentication().isEmpty(), "the JWT filter");
      com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
          new com.nimbusds.jose.JWSHeader.Builder(com.nimbusds.jose.JWSAlgorithm.RS256).keyID("k").build(),
          new com.nimbusds.jwt.JWTClaimsSet.Builder().issuer("https://issuer.inmesh.test").subject("alice").build());
      jwt.sign(new com.nimbusds.jose.crypto.RSASSASigner(key));
      java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + port + "/headers/x"))
          .header("Authorization", "Bearer " + jwt.serialize()).header("x-user", "forged").build();
      HttpResponse<String> verified = plaintextHttp().send(request, HttpResponse.BodyHandlers.ofString());
      assertThat(verified.statusCode()).isEqualTo(200);
      assertThat(verified.body()).isEqualTo("authorization=null x-user=[alice] names-authorization=false");

      java.net.http.HttpRequest forged = java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + port + "/headers/x")).header("x-user", "admin").build();
      assertThat(plaintextHttp().send(forged, HttpResponse.BodyHandlers.ofString()).body())
          .as("a claim header the caller sent itself does not reach the servlet")
          .isEqualTo("authorization=null x-user=[] names-authorization=false");
      java.net.http.HttpRequest invalid = java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + port + "/headers/x")).header("Authorization", "Bearer a.b.c").build();
      HttpResponse<String> rejected = plaintextHttp().send(invalid, HttpResponse.BodyHandlers.ofString());
      assertThat(rejected.statusCode()).isEqualTo(401);
      assertThat(rejected.body()).isEqualTo("Jwt header is an invalid JSON");
    } finally {
      mesh.delete("RequestAuthentication", "details-jwt");
    }
  }

  @Test
  void aRequestThatGoesAroundTheDoorIsDenied() throws IOException {
    mesh.mtlsMode(details, port, MtlsMode.PERMISSIVE);
    int jettyPort = door.backend().getPort();
    double unknownBefore = requests("unknown", "403");

    HttpResponse<String> direct = send(plaintextHttp(), "GET", "http://127.0.0.1:" + jettyPort + "/details/0");

    assertThat(direct.statusCode()).isEqualTo(403);
    assertThat(direct.body()).isEqualTo("RBAC: access denied");
    InboundFixture.awaitCount(() -> requests("unknown", "403"), unknownBefore + 1, "requests(\"unknown\", \"403\")");
  }
}
