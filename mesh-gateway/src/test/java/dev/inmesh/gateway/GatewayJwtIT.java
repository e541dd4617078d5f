package dev.inmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.SpiffeTrustManager;
import dev.inmesh.internal.telemetry.AuthorizationLog;
import dev.inmesh.testing.AccessLogCapture;
import dev.inmesh.testing.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End-user JWT at a real mesh-gateway: mesh-control with its CA, a RequestAuthentication selecting
 * the gateway by its labels with a JWKS that mesh-control fetches from a MockWebServer, tokens made
 * here with nimbus, a mesh workload behind the gateway that answers with the Authorization header
 * it received, and curl as the outside client.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayJwtIT {
  private static final String ISSUER = "https://issuer.inmesh.test";
  private static final String AUDIENCE_ISSUER = "https://audience.inmesh.test";
  private static final String DOWN_ISSUER = "https://down.inmesh.test";

  private Path config;
  private MeshControl control;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private MockWebServer jwksServer;
  private MeshGateway gateway;
  private RSAKey rsa;
  private RSAKey stranger;

  @BeforeAll
  void start() throws Exception {
    rsa = new RSAKeyGenerator(2048).keyID("rsa").generate();
    stranger = new RSAKeyGenerator(2048).keyID("rsa").generate();
    String jwks = new JWKSet(rsa.toPublicJWK()).toString(true);
    jwksServer = new MockWebServer();
    jwksServer.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        if (request.getUrl().encodedPath().equals("/gone")) {
          return new MockResponse.Builder().code(404).build();
        }
        return new MockResponse.Builder().code(200).setHeader("content-type", "application/json").body(jwks).build();
      }
    });
    jwksServer.start();
    closeables.add(jwksServer);

    Path work = Files.createTempDirectory("gateway-jwt-it");
    config = Files.createDirectories(work.resolve("config"));
    Files.writeString(config.resolve("gateway.yaml"), GATEWAY.formatted(ISSUER, jwksServer.url("/jwks"),
        AUDIENCE_ISSUER, jwksServer.url("/jwks"), DOWN_ISSUER, jwksServer.url("/gone")),
        StandardCharsets.UTF_8);
    control = MeshControl.start(MeshControlOptions.ephemeral().withConfigDir(config)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)));
    workload("productpage");
    Mesh gatewayMesh = identity(Mesh.builder(), "istio-system", "istio-ingressgateway")
        .label("istio", "ingressgateway").gateway().build();
    closeables.add(gatewayMesh);
    gateway = MeshGateway.start(gatewayMesh, GatewayOptions.defaults().withCredentialsDir(work.resolve("credentials"))
        .withBindAddress("127.0.0.1").withLocalPort(8080, 0));
    Await.until(() -> gateway.localPort(8080).isPresent() && control.workloads().size() == 1 && control.converged(),
        Duration.ofSeconds(30), "the gateway's port and the workload");
    Await.until(() -> status(curl("-o", "/dev/null", "-w", "%{http_code}", url("/productpage"))) == 200,
        Duration.ofSeconds(30), "the gateway to route /productpage");
  }

  @AfterAll
  void stop() throws Exception {
    GatewayItSupport.closeAll(gateway, closeables, control);
  }

  @Test
  @Order(1)
  void aValidTokenPassesAndIsNotForwardedIntoTheMesh() throws Exception {
    String answer = curl("-w", " %{http_code}", "-H", "Authorization: Bearer " + rs256(claims(ISSUER).build()),
        url("/productpage"));

    assertThat(answer).isEqualTo("authorization=- 200");
  }

  @Test
  @Order(1)
  void theVerifiedPayloadIsHandedOnAndACopyTheClientSentIsDropped() throws Exception {
    String forged = Base64.getUrlEncoder().withoutPadding()
        .encodeToString("{\"sub\":\"mallory\"}".getBytes(StandardCharsets.UTF_8));

    assertThat(curl("-H", "x-jwt-payload: " + forged, url("/payload"))).as("no token: the forged payload is dropped")
        .isEqualTo("payload=-");
    assertThat(curl("-H", "x-jwt-payload: " + forged, "-H", "Authorization: Bearer " + rs256(claims(ISSUER).build()),
        url("/payload"))).contains("\"sub\":\"alice\"").contains("\"iss\":\"" + ISSUER).doesNotContain("mallory");
  }

  @Test
  @Order(1)
  void invalidTokensAreRejectedWith401AndEnvoysReasonAtTheGateway() throws Exception {
    assertThat(bearer(rs256(claims(ISSUER).expirationTime(Date.from(Instant.now().minusSeconds(300))).build())))
        .isEqualTo("Jwt is expired 401");
    assertThat(bearer(rs256(claims("https://evil.inmesh.test").build())))
        .isEqualTo("Jwt issuer is not configured 401");
    assertThat(bearer(sign(claims(ISSUER).build(), new RSASSASigner(stranger))))
        .isEqualTo("Jwt verification fails 401");
    assertThat(bearer(new PlainJWT(claims(ISSUER).build()).serialize()))
        .isEqualTo("Jwt header [alg] is not supported 401");
  }

  @Test
  @Order(1)
  void aTokenForAnotherAudienceGets401AndOneForTheGatewaysAudiencePasses() throws Exception {
    assertThat(bearer(rs256(claims(AUDIENCE_ISSUER).audience("another-service").build())))
        .isEqualTo("Audiences in Jwt are not allowed 401");
    assertThat(bearer(rs256(claims(AUDIENCE_ISSUER).build()))).as("no aud claim at all")
        .isEqualTo("Audiences in Jwt are not allowed 401");
    assertThat(bearer(rs256(claims(AUDIENCE_ISSUER).audience(List.of("another-service", "bookinfo")).build())))
        .isEqualTo("authorization=- 200");
  }

  @Test
  @Order(1)
  void aJwksThatCannotBeFetchedRejectsItsIssuersTokensAtTheGatewayAndSaysSo() throws Exception {
    assertThat(bearer(rs256(claims(DOWN_ISSUER).build())))
        .isEqualTo("Jwks doesn't have key to match kid or alg from Jwt 401");
    assertThat(control.jwksStatus()).hasEntrySatisfying(jwksServer.url("/gone").toString(),
        status -> assertThat(status).startsWith("failed").contains("HTTP 404"));
    assertThat(curl("-w", " %{http_code}", url("/productpage"))).as("a request without a token still passes")
        .isEqualTo("authorization=- 200");
  }

  @Test
  @Order(1)
  void a401CarriesEnvoysChallenge() throws Exception {
    String headers = curl("-D", "-", "-o", "/dev/null", "-H", "Authorization: Bearer "
        + rs256(claims("https://evil.inmesh.test").build()), url("/productpage"));

    assertThat(headers.toLowerCase()).contains("www-authenticate: bearer realm=\"http://127.0.0.1:"
        + gateway.localPort(8080).getAsInt() + "/productpage\"");
  }

  @Test
  @Order(2)
  void aMissingTokenPassesWithoutAPolicyAndGets403OncePolicyRequiresAPrincipal() throws Exception {
    assertThat(curl("-w", " %{http_code}", url("/productpage"))).isEqualTo("authorization=- 200");

    Files.writeString(config.resolve("require-jwt.yaml"), """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: require-jwt
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          action: ALLOW
          rules:
          - from:
            - source:
                requestPrincipals: ["*"]
        """, StandardCharsets.UTF_8);
    Await.until(() -> curl("-w", " %{http_code}", url("/productpage")).equals("RBAC: access denied 403"),
        Duration.ofSeconds(30), "the gateway to refuse a request without a token");

    assertThat(curl("-w", " %{http_code}", "-H", "Authorization: Bearer " + rs256(claims(ISSUER).build()),
        url("/productpage"))).as("a valid token carries a request principal").isEqualTo("authorization=- 200");
    assertThat(bearer(rs256(claims(ISSUER).expirationTime(Date.from(Instant.now().minusSeconds(300))).build())))
        .as("authentication still answers first").isEqualTo("Jwt is expired 401");
  }

  @Test
  @Order(3)
  void auditAndDryRunPoliciesAtTheGatewayAreLoggedAndDecideNothing() throws Exception {
    Files.writeString(config.resolve("audit.yaml"), """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: audit-front
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          action: AUDIT
          rules:
          - to:
            - operation:
                paths: ["/productpage"]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: shadow-deny-front
          namespace: istio-system
          annotations:
            istio.io/dry-run: "true"
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/productpage"]
        """, StandardCharsets.UTF_8);
    String token = rs256(claims(ISSUER).build());
    try (AccessLogCapture auditLog = new AccessLogCapture(AuthorizationLog.AUDIT_LOGGER);
         AccessLogCapture dryRunLog = new AccessLogCapture(AuthorizationLog.DRY_RUN_LOGGER)) {
      Await.until(() -> {
        assertThat(curl("-w", " %{http_code}", "-H", "Authorization: Bearer " + token, url("/productpage")))
            .as("neither policy decides").isEqualTo("authorization=- 200");
        return !auditLog.lines().isEmpty() && !dryRunLog.lines().isEmpty();
      }, Duration.ofSeconds(30), "the gateway to log the AUDIT and dry-run policies");

      assertThat(auditLog.lines()).allSatisfy(line -> assertThat(line)
          .startsWith("AUDIT ns[istio-system]-policy[audit-front]-rule[0] \"GET /productpage\" port=8080 source=plaintext ")
          .endsWith(" decision=allowed"));
      assertThat(dryRunLog.lines()).allSatisfy(line -> assertThat(line)
          .startsWith("shadow denied, matched policy ns[istio-system]-policy[shadow-deny-front]-rule[0] \"GET /productpage\"")
          .endsWith("istio_dry_run_deny_shadow_effective_policy_id=ns[istio-system]-policy[shadow-deny-front]-rule[0]"));
    }
  }

  @Test
  @Order(4)
  void aPolicyOnAHeaderAuthenticationWritesNeverSeesTheCopyTheClientForged() throws Exception {
    String forged = Base64.getUrlEncoder().withoutPadding()
        .encodeToString("{\"sub\":\"mallory\"}".getBytes(StandardCharsets.UTF_8));
    Files.writeString(config.resolve("header-gated.yaml"), """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: header-gated
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          action: ALLOW
          rules:
          - when:
            - key: request.headers[x-jwt-payload]
              values: ["%s"]
          - when:
            - key: request.headers[x-partner]
              values: ["yes"]
        """.formatted(forged), StandardCharsets.UTF_8);
    Await.until(() -> curl("-w", " %{http_code}", "-H", "x-partner: yes", url("/productpage")).equals("authorization=- 200"),
        Duration.ofSeconds(30), "the header-gated policy to be in force");

    assertThat(curl("-w", " %{http_code}", "-H", "x-jwt-payload: " + forged, url("/productpage")))
        .as("jwt_authn removes its output header before RBAC runs").isEqualTo("RBAC: access denied 403");
  }

  private static final String GATEWAY = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: front-gateway
      spec:
        selector:
          istio: ingressgateway
        servers:
        - port: {number: 8080, name: http, protocol: HTTP}
          hosts: ["*"]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: front
      spec:
        hosts: ["*"]
        gateways: [front-gateway]
        http:
        - route:
          - destination: {host: productpage, port: {number: 9080}}
      ---
      apiVersion: security.istio.io/v1
      kind: RequestAuthentication
      metadata:
        name: gateway-jwt
        namespace: istio-system
      spec:
        selector:
          matchLabels:
            istio: ingressgateway
        jwtRules:
        - issuer: "%s"
          jwksUri: "%s"
          outputPayloadToHeader: x-jwt-payload
        - issuer: "%s"
          jwksUri: "%s"
          audiences: ["bookinfo"]
        - issuer: "%s"
          jwksUri: "%s"
      """;

  private static JWTClaimsSet.Builder claims(String issuer) {
    return new JWTClaimsSet.Builder().issuer(issuer).subject("alice")
        .expirationTime(Date.from(Instant.now().plusSeconds(600)));
  }

  private String rs256(JWTClaimsSet claims) throws Exception {
    return sign(claims, new RSASSASigner(rsa));
  }

  private static String sign(JWTClaimsSet claims, RSASSASigner signer) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa").build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  /** The body and the status of a call with the token as a bearer. */
  private String bearer(String token) {
    return curl("-w", " %{http_code}", "-H", "Authorization: Bearer " + token, url("/productpage"));
  }

  private String url(String path) {
    return "http://127.0.0.1:" + gateway.localPort(8080).getAsInt() + path;
  }

  private static int status(String code) {
    try {
      return Integer.parseInt(code);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** A mesh workload that takes only mesh mTLS and answers with the Authorization header it received. */
  private void workload(String service) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Mesh mesh = identity(Mesh.builder(), "default", service).service(service).label("app", service)
        .servePort("http", 9080, port).build();
    closeables.add(mesh);
    mesh.awaitReady(Duration.ofSeconds(20));
    MockWebServer server = new MockWebServer();
    server.useHttps(serverContext(mesh.certificates().orElseThrow()).getSocketFactory());
    server.requireClientAuth();
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        String authorization = Optional.ofNullable(request.getHeaders().get("authorization")).orElse("-");
        if (request.getUrl().encodedPath().equals("/payload")) {
          String payload = Optional.ofNullable(request.getHeaders().get("x-jwt-payload"))
              .map(p -> new String(Base64.getUrlDecoder().decode(p), StandardCharsets.UTF_8)).orElse("-");
          return new MockResponse.Builder().body("payload=" + payload).build();
        }
        return new MockResponse.Builder().body("authorization=" + authorization).build();
      }
    });
    server.start(port);
    closeables.add(server);
  }

  private Mesh.Builder identity(Mesh.Builder builder, String namespace, String serviceAccount) {
    return GatewayItSupport.identity(control, builder, namespace, serviceAccount);
  }


  private static SSLContext serverContext(CertificateManager certificates) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(new KeyManager[] {certificates.keyManager()},
        new TrustManager[] {new SpiffeTrustManager(certificates::trustAnchors, peer -> true, Clock.systemUTC())}, null);
    return context;
  }

  /** curl's standard output, silent and with a bound on time. */
  private static String curl(String... args) {
    List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "20"));
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).start();
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(30, TimeUnit.SECONDS);
      return output.strip();
    } catch (IOException e) {
      throw new IllegalStateException("cannot run curl", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
