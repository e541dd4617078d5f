package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.inmesh.Mesh;
import dev.inmesh.testing.Await;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End-user authentication as Istio's RequestAuthentication and AuthorizationPolicy define it, on a
 * workload's door with a real mesh-control and CA: a JWKS that mesh-control fetches from a
 * MockWebServer, one inline, one that cannot be fetched; tokens made here with nimbus; curl as the
 * caller on the PERMISSIVE port.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class JwtAuthenticationIT {
  private static final String ISSUER = "https://issuer.inmesh.test";
  private static final String INLINE_ISSUER = "https://inline.inmesh.test";
  private static final String DOWN_ISSUER = "https://down.inmesh.test";

  private InboundFixture mesh;
  private MeshHttpServer server;
  private MockWebServer jwksServer;
  private final AtomicInteger jwksFetches = new AtomicInteger();
  private int port;
  private RSAKey rsa;
  private ECKey ec;
  private RSAKey inline;
  private RSAKey stranger;

  @BeforeAll
  void start() throws Exception {
    rsa = new RSAKeyGenerator(2048).keyID("rsa").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    inline = new RSAKeyGenerator(2048).keyID("inline").generate();
    stranger = new RSAKeyGenerator(2048).keyID("rsa").generate();
    String jwks = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString(true);
    jwksServer = new MockWebServer();
    jwksServer.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        jwksFetches.incrementAndGet();
        return new MockResponse.Builder().code(200).setHeader("content-type", "application/json").body(jwks).build();
      }
    });
    jwksServer.start();

    mesh = new InboundFixture();
    port = InboundFixture.freePort();
    Mesh productpage = mesh.server("productpage", port);
    server = MeshHttpServer.builder(productpage, port).build();
    server.createContext("/", exchange -> {
      // what the application sees of the token: it is taken off, its payload handed on
      String authorization = Optional.ofNullable(exchange.getRequestHeaders().getFirst("Authorization")).orElse("-");
      String xToken = Optional.ofNullable(exchange.getRequestHeaders().getFirst("x-token")).orElse("-");
      String payload = Optional.ofNullable(exchange.getRequestHeaders().getFirst("x-jwt-payload"))
          .map(p -> new String(Base64.getUrlDecoder().decode(p), StandardCharsets.UTF_8)).orElse("-");
      byte[] body = ("authorization=" + authorization + " x-token=" + xToken + " payload=" + payload)
          .getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();

    int closedPort = InboundFixture.freePort();
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata:
          name: jwt
          namespace: default
        spec:
          selector:
            matchLabels:
              app: productpage
          jwtRules:
          - issuer: "%s"
            jwksUri: "%s"
            audiences: ["bookinfo"]
            outputPayloadToHeader: x-jwt-payload
          - issuer: "%s"
            jwks: '%s'
            fromHeaders:
            - name: x-token
              prefix: "Token "
            fromParams: ["token"]
          - issuer: "%s"
            jwksUri: "http://127.0.0.1:%d/jwks"
        """.formatted(ISSUER, jwksServer.url("/jwks"), INLINE_ISSUER,
        new JWKSet(inline.toPublicJWK()).toString(true), DOWN_ISSUER, closedPort));
    InboundFixture.awaitPolicy(productpage, port, p -> p.authentication().providers().size() == 3,
        "the JWT filter with three providers at port " + port);
  }

  @AfterAll
  void stop() throws Exception {
    if (server != null) {
      server.stop(0);
    }
    if (mesh != null) {
      mesh.close();
    }
    if (jwksServer != null) {
      jwksServer.close();
    }
  }

  private static JWTClaimsSet.Builder claims(String issuer) {
    return new JWTClaimsSet.Builder().issuer(issuer).subject("alice").audience("bookinfo")
        .expirationTime(Date.from(Instant.now().plusSeconds(600)));
  }

  private static String sign(JWTClaimsSet claims, JWSSigner signer, JWSAlgorithm alg, String kid) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  private String rs256(JWTClaimsSet claims) throws Exception {
    return sign(claims, new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa");
  }

  /** Status and body as curl printed them. */
  private record Answer(int status, String body) {}

  private Answer curl(String path, String... headers) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"));
    for (String header : headers) {
      command.add("-H");
      command.add(header);
    }
    command.add("http://127.0.0.1:" + port + path);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as("curl: %s", output).isZero();
    int newline = output.lastIndexOf('\n');
    return new Answer(Integer.parseInt(output.substring(newline + 1).trim()), output.substring(0, newline));
  }

  private Answer bearer(String token) throws Exception {
    return curl("/productpage", "Authorization: Bearer " + token);
  }

  @Test
  @Order(1)
  void aValidTokenFromTheFetchedJwksPassesAndTheApplicationSeesItsPayloadNotTheToken() throws Exception {
    Answer answer = bearer(rs256(claims(ISSUER).build()));
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.body()).startsWith("authorization=- ").contains("\"sub\":\"alice\"").contains("\"iss\":\"" + ISSUER);
    assertThat(jwksFetches.get()).as("mesh-control fetched the JWKS").isPositive();

    Answer es256 = bearer(sign(claims(ISSUER).build(), new ECDSASigner(ec), JWSAlgorithm.ES256, "ec"));
    assertThat(es256.status()).isEqualTo(200);
  }

  @Test
  @Order(2)
  void invalidTokensAreRejectedWithEnvoysReasons() throws Exception {
    assertThat(bearer(rs256(claims(ISSUER).expirationTime(Date.from(Instant.now().minusSeconds(300))).build())))
        .isEqualTo(new Answer(401, "Jwt is expired"));
    assertThat(bearer(rs256(claims("https://evil.inmesh.test").build())))
        .isEqualTo(new Answer(401, "Jwt issuer is not configured"));
    assertThat(bearer(rs256(claims(ISSUER).audience("other").build())))
        .isEqualTo(new Answer(401, "Audiences in Jwt are not allowed"));
    assertThat(bearer(sign(claims(ISSUER).build(), new RSASSASigner(stranger), JWSAlgorithm.RS256, "rsa")))
        .isEqualTo(new Answer(401, "Jwt verification fails"));
    assertThat(bearer(new PlainJWT(claims(ISSUER).build()).serialize()))
        .isEqualTo(new Answer(401, "Jwt header [alg] is not supported"));
    byte[] publicKeyBytes = rsa.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
    assertThat(bearer(sign(claims(ISSUER).build(), new MACSigner(publicKeyBytes), JWSAlgorithm.HS256, "rsa")))
        .isEqualTo(new Answer(401, "Jwks doesn't have key to match kid or alg from Jwt"));
  }

  @Test
  @Order(2)
  void a401CarriesEnvoysChallenge() throws Exception {
    String token = rs256(claims(ISSUER).audience("other").build());
    List<String> command = List.of("curl", "-sS", "--max-time", "10", "-D", "-", "-o", "/dev/null",
        "-H", "Authorization: Bearer " + token, "http://127.0.0.1:" + port + "/productpage?x=1");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String headers = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(headers).containsIgnoringCase("www-authenticate: Bearer realm=\"http://127.0.0.1:" + port
        + "/productpage\", error=\"invalid_token\"");
  }

  @Test
  @Order(3)
  void aJwksThatCannotBeFetchedRejectsItsTokensAndSaysSo() throws Exception {
    RSAKey downKey = new RSAKeyGenerator(2048).keyID("down").generate();
    Answer answer = bearer(sign(claims(DOWN_ISSUER).build(), new RSASSASigner(downKey), JWSAlgorithm.RS256, "down"));
    assertThat(answer.status()).isEqualTo(401);
    assertThat(answer.body()).isEqualTo("Jwks doesn't have key to match kid or alg from Jwt");
    assertThat(mesh.control.translationWarnings()).anySatisfy(w -> {
      assertThat(w.resource()).contains("RequestAuthentication").contains("jwt");
      assertThat(w.field()).isEqualTo("spec.jwtRules[2].jwksUri");
      assertThat(w.message()).contains("cannot fetch the JWKS").contains(DOWN_ISSUER);
    });
    assertThat(mesh.control.jwksStatus()).hasEntrySatisfying(jwksServer.url("/jwks").toString(),
        s -> assertThat(s).startsWith("fetched"));
    assertThat(mesh.control.jwksStatus().entrySet()).anySatisfy(e -> assertThat(e.getValue()).startsWith("failed"));
  }

  @Test
  @Order(4)
  void aRequestWithoutATokenPassesAuthentication() throws Exception {
    assertThat(curl("/productpage").status()).isEqualTo(200);
    assertThat(curl("/productpage", "Authorization: Basic dXNlcjpwYXNz").status()).isEqualTo(200);
  }

  @Test
  @Order(5)
  void tokensAreReadFromTheConfiguredHeaderWithItsPrefixAndFromQueryParameters() throws Exception {
    String token = sign(claims(INLINE_ISSUER).build(), new RSASSASigner(inline), JWSAlgorithm.RS256, "inline");
    Answer header = curl("/productpage", "x-token: Token " + token);
    assertThat(header.status()).isEqualTo(200);
    assertThat(header.body()).contains("x-token=- ");
    assertThat(curl("/productpage?token=" + token).status()).isEqualTo(200);
    assertThat(curl("/productpage?token=" + token + "x")).isEqualTo(new Answer(401, "Jwt verification fails"));
    assertThat(curl("/productpage", "x-token: Token " + rs256(claims(ISSUER).build())))
        .as("the location of one issuer does not take another's tokens").isEqualTo(new Answer(401,
            "Jwt issuer is not configured"));
  }

  @Test
  @Order(6)
  void aPolicyRequiringAPrincipalRefusesRequestsWithoutOneWith403() throws Exception {
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: require-jwt
          namespace: default
        spec:
          selector:
            matchLabels:
              app: productpage
          action: ALLOW
          rules:
          - from:
            - source:
                requestPrincipals: ["%s/*"]
            when:
            - key: request.auth.claims[groups]
              values: ["readers"]
        """.formatted(ISSUER));
    Await.until(() -> {
      try {
        return curl("/productpage").status() == 403;
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(20), "the ALLOW policy to be in force");
    assertThat(curl("/productpage")).isEqualTo(new Answer(403, "RBAC: access denied"));
    assertThat(bearer(rs256(claims(ISSUER).claim("groups", List.of("readers", "writers")).build())).status())
        .isEqualTo(200);
    assertThat(bearer(rs256(claims(ISSUER).claim("groups", List.of("writers")).build())))
        .isEqualTo(new Answer(403, "RBAC: access denied"));
    String inlineToken = sign(claims(INLINE_ISSUER).claim("groups", "readers").build(), new RSASSASigner(inline),
        JWSAlgorithm.RS256, "inline");
    assertThat(curl("/productpage", "x-token: Token " + inlineToken))
        .as("a principal of another issuer").isEqualTo(new Answer(403, "RBAC: access denied"));
    assertThat(bearer(rs256(claims(ISSUER).expirationTime(Date.from(Instant.now().minusSeconds(300))).build())))
        .as("authentication before authorization").isEqualTo(new Answer(401, "Jwt is expired"));
  }
}
