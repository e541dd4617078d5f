package dev.inmesh.control.translate.authn;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import dev.inmesh.internal.security.jwt.JwtProvider;
import dev.inmesh.internal.xds.JwtAuthnParser;
import dev.inmesh.testing.MutableClock;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RequestAuthnTranslatorTest {
  private HttpServer jwksServer;
  private final AtomicReference<String> body = new AtomicReference<>();
  private final AtomicInteger status = new AtomicInteger(200);
  private final AtomicInteger fetches = new AtomicInteger();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T12:00:00Z"));
  private final AtomicInteger changes = new AtomicInteger();
  private JwksResolver resolver;
  private RSAKey key;

  @BeforeEach
  void start() throws Exception {
    key = new RSAKeyGenerator(2048).keyID("k1").generate();
    body.set(new JWKSet(key.toPublicJWK()).toString(true));
    jwksServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    jwksServer.createContext("/", exchange -> {
      fetches.incrementAndGet();
      if (exchange.getRequestURI().getPath().equals("/redirect")) {
        exchange.getResponseHeaders().set("Location", url("/jwks"));
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
        return;
      }
      if (exchange.getRequestURI().getPath().equals("/drip")) {
        // the headers at once, then a byte every 100 ms for 4 s: never idle long enough for a read timeout
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
          for (int i = 0; i < 40; i++) {
            out.write(' ');
            out.flush();
            Thread.sleep(100);
          }
        } catch (IOException | InterruptedException e) {
          // the client gave up: what the test expects
        }
        return;
      }
      byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status.get(), bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    jwksServer.start();
    resolver = new JwksResolver(clock, changes::incrementAndGet, Optional.empty());
  }

  @AfterEach
  void stop() {
    jwksServer.stop(0);
  }

  private String url(String path) {
    return "http://127.0.0.1:" + jwksServer.getAddress().getPort() + path;
  }

  private static List<ConfigResource> resources(String yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("authn.yaml", yaml);
    assertThat(parsed.errors()).isEmpty();
    return parsed.resources();
  }

  private static String requestAuthentication(String name, String namespace, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata:
          name: %s
          namespace: %s
        spec:
        """.formatted(name, namespace) + spec.indent(2) + "---\n";
  }

  private JwtAuthentication decoded(RequestAuthnTranslator.Result result) throws Exception {
    HttpFilter filter = result.filter().orElseThrow();
    assertThat(filter.getName()).isEqualTo("envoy.filters.http.jwt_authn");
    return JwtAuthnParser.parse("Listener test", "jwt", filter.getTypedConfig().unpack(
        io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.class));
  }

  @Test
  void writesIstiosFilterThatMeshCoresParserReadsBack() throws Exception {
    List<ConfigResource> policies = resources(requestAuthentication("b-jwt", "shop", """
        jwtRules:
        - issuer: https://issuer.example.com
          jwksUri: %s
          audiences: [shop]
          fromHeaders:
          - name: x-jwt
            prefix: "Token "
          fromParams: [jwt]
          outputPayloadToHeader: x-jwt-payload
          outputClaimToHeaders:
          - header: x-sub
            claim: sub
          spaceDelimitedClaims: [roles]
        """.formatted(url("/jwks"))) + requestAuthentication("a-jwt", "shop", """
        jwtRules:
        - issuer: https://inline.example.com
          forwardOriginalToken: true
          jwks: '%s'
        """.formatted(body.get())));

    RequestAuthnTranslator.Result result = new RequestAuthnTranslator(resolver).translate(policies);
    assertThat(result.warnings()).isEmpty();
    JwtAuthentication parsed = decoded(result);

    assertThat(parsed.allowMissing()).as("a request without a token passes").isTrue();
    assertThat(parsed.providers()).extracting(JwtProvider::name).containsExactly("origins-0", "origins-1");
    JwtProvider inline = parsed.providers().get(0);
    assertThat(inline.issuer()).contains("https://inline.example.com");
    assertThat(inline.forward()).isTrue();
    assertThat(inline.headers()).as("Envoy's default locations").isEqualTo(JwtProvider.DEFAULT_HEADERS);
    JwtProvider fetched = parsed.providers().get(1);
    assertThat(fetched.keys().getKeyByKeyId("k1")).isNotNull();
    assertThat(fetched.audiences()).containsExactly("shop");
    assertThat(fetched.headers()).containsExactly(new JwtProvider.TokenHeader("x-jwt", "Token "));
    assertThat(fetched.params()).containsExactly("jwt");
    assertThat(fetched.payloadHeader()).contains("x-jwt-payload");
    assertThat(fetched.claimHeaders()).containsExactly(new JwtProvider.ClaimHeader("x-sub", "sub"));
    assertThat(fetched.spaceDelimitedClaims()).containsExactly("scope", "permission", "roles");
    assertThat(fetched.payloadInMetadata()).isEqualTo("payload");
  }

  @Test
  void aJwksThatCannotBeFetchedIsReplacedByKeysNoTokenMatchesAndWarnedOf() throws Exception {
    status.set(503);
    List<ConfigResource> policies = resources(requestAuthentication("jwt", "shop", """
        jwtRules:
        - issuer: https://issuer.example.com
          jwksUri: %s
        """.formatted(url("/jwks"))));

    RequestAuthnTranslator.Result result = new RequestAuthnTranslator(resolver).translate(policies);
    assertThat(result.warnings()).singleElement().satisfies(w -> {
      assertThat(w.resource()).isEqualTo("RequestAuthentication/shop/jwt");
      assertThat(w.field()).isEqualTo("spec.jwtRules[0].jwksUri");
      assertThat(w.message()).contains(url("/jwks"), "HTTP 503", "rejected (401)");
    });
    JwtProvider provider = decoded(result).providers().get(0);
    assertThat(provider.keys().getKeyByKeyId("k1")).isNull();
    assertThat(provider.keys().toString()).isEqualTo(JWKSet.parse(JwksResolver.UNAVAILABLE).toString());
    assertThat(resolver.status().get(url("/jwks"))).startsWith("failed");
  }

  @Test
  void aRuleTimeoutLongerThanTheFetchBoundIsCutToItAndWarnedOf() throws Exception {
    List<ConfigResource> policies = resources(requestAuthentication("jwt", "shop", """
        jwtRules:
        - issuer: https://issuer.example.com
          jwksUri: %s
          timeout: 8760h
        """.formatted(url("/jwks"))));

    RequestAuthnTranslator.Result result = new RequestAuthnTranslator(resolver).translate(policies);

    assertThat(result.warnings()).anySatisfy(w -> {
      assertThat(w.field()).isEqualTo("spec.jwtRules[0].timeout");
      assertThat(w.message()).contains("at most 30 s");
    });
  }

  @Test
  void refreshRetriesFailuresAndKeepsTheLastGoodKeys() {
    status.set(500);
    assertThat(resolver.keys(url("/jwks"), Optional.empty())).isInstanceOf(JwksResolver.Keys.Failed.class);
    status.set(200);
    resolver.refresh();
    assertThat(resolver.keys(url("/jwks"), Optional.empty())).isInstanceOf(JwksResolver.Keys.Fetched.class);
    assertThat(changes.get()).as("the new keys are pushed").isOne();

    status.set(500);
    clock.advance(JwksResolver.REFRESH_INTERVAL.plusSeconds(1));
    int before = fetches.get();
    resolver.refresh();
    assertThat(fetches.get()).isEqualTo(before + 1);
    assertThat(resolver.keys(url("/jwks"), Optional.empty())).as("a failed refresh keeps the keys")
        .isInstanceOf(JwksResolver.Keys.Fetched.class);
    assertThat(resolver.status().get(url("/jwks"))).contains("the keys fetched before stay in use");
    assertThat(changes.get()).isOne();
  }

  @Test
  void aServerThatDripsItsBodyIsCutOffAtTheRulesTimeout() {
    long started = System.nanoTime();

    JwksResolver.Keys keys = resolver.keys(url("/drip"), Optional.of(Duration.ofMillis(800)));

    assertThat(keys).isInstanceOfSatisfying(JwksResolver.Keys.Failed.class,
        f -> assertThat(f.reason()).contains("no whole response within 800 ms"));
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("not the 4 s the server takes")
        .isLessThan(Duration.ofMillis(3_000));
  }

  @Test
  void refusesOversizedResponsesRedirectsAndWhatIsNoJwks() {
    body.set("x".repeat(JwksResolver.MAX_BYTES + 1));
    assertThat(resolver.keys(url("/big"), Optional.empty())).isInstanceOfSatisfying(JwksResolver.Keys.Failed.class,
        f -> assertThat(f.reason()).contains("larger than"));
    assertThat(resolver.keys(url("/redirect"), Optional.empty())).isInstanceOfSatisfying(JwksResolver.Keys.Failed.class,
        f -> assertThat(f.reason()).contains("HTTP 302"));
    body.set("{\"keys\": []}");
    assertThat(resolver.keys(url("/empty"), Optional.empty())).isInstanceOf(JwksResolver.Keys.Failed.class);
    assertThat(resolver.keys("http://127.0.0.1:1/jwks", Optional.of(Duration.ofSeconds(2))))
        .isInstanceOf(JwksResolver.Keys.Failed.class);
  }

  @Test
  void appliesInItsNamespaceAndMeshWideFromTheRootNamespaceByItsSelector() {
    List<ConfigResource> policies = resources(requestAuthentication("local", "shop", """
        selector:
          matchLabels:
            app: cart
        jwtRules:
        - issuer: https://issuer.example.com
          jwks: '%s'
        """.formatted(body.get())) + requestAuthentication("mesh", "istio-system", """
        jwtRules:
        - issuer: https://issuer.example.com
          jwks: '%s'
        """.formatted(body.get())) + requestAuthentication("gateway", "shop", """
        targetRef:
          kind: Gateway
          group: gateway.networking.k8s.io
          name: ingress
        jwtRules:
        - issuer: https://issuer.example.com
          jwks: '%s'
        """.formatted(body.get())));
    ConfigResource local = policies.get(0);
    ConfigResource mesh = policies.get(1);
    ConfigResource gateway = policies.get(2);

    assertThat(RequestAuthnTranslator.appliesTo(local, "shop", Map.of("app", "cart"))).isTrue();
    assertThat(RequestAuthnTranslator.appliesTo(local, "shop", Map.of("app", "orders"))).isFalse();
    assertThat(RequestAuthnTranslator.appliesTo(local, "other", Map.of("app", "cart"))).isFalse();
    assertThat(RequestAuthnTranslator.appliesTo(mesh, "other", Map.of())).isTrue();
    assertThat(RequestAuthnTranslator.appliesTo(gateway, "shop", Map.of())).isFalse();
    assertThat(RequestAuthnTranslator.notEnforced(policies)).singleElement()
        .satisfies(w -> assertThat(w.field()).isEqualTo("spec.targetRef"));
  }
}
