package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.inbound.MtlsMode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Policies that Inmesh cannot evaluate fail closed on a real {@link MeshHttpServer}, as Istio's
 * do: a CUSTOM policy (there is no ext_authz) denies what its rules match, a DENY rule on another
 * Envoy filter's metadata (which Inmesh's servers do not have) denies by its other fields, and such
 * an ALLOW rule allows nothing. (JWT claims are evaluated: {@code JwtAuthenticationIT}.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailClosedAuthorizationIT {
  private static final String POLICY = "reviews-authz";

  InboundFixture mesh;
  Mesh reviews;
  MeshHttpServer server;
  int port;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture();
    port = InboundFixture.freePort();
    reviews = mesh.server("reviews", port);
    server = MeshHttpServer.create(reviews, port);
    server.createContext("/", exchange -> {
      byte[] body = (exchange.getRequestMethod() + " " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    mesh.mtlsMode(reviews, port, MtlsMode.DISABLE);
  }

  @AfterEach
  void removePolicy() {
    mesh.delete("AuthorizationPolicy", POLICY);
    InboundFixture.awaitPolicy(reviews, port, p -> p.authorization().engines().isEmpty(), "no authorization on " + port);
  }

  @AfterAll
  void stop() {
    server.close();
    mesh.close();
  }

  /** Applies the policy, checks the warning that says it fails closed, and waits until the server holds it. */
  private void apply(String action, String rest, String warnedField) {
    ApplyResult result = mesh.control.apply("test", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: %s
          namespace: default
        spec:
          selector:
            matchLabels:
              app: reviews
          action: %s
        %s""".formatted(POLICY, action, rest.indent(2)));
    assertThat(result.errors()).isEmpty();
    assertThat(result.warnings()).extracting(Problem::field).containsExactly(warnedField);
    assertThat(result.warnings().get(0).message()).startsWith("enforced fail-closed by Inmesh: ");
    InboundFixture.awaitPolicy(reviews, port, p -> !p.authorization().engines().isEmpty(), "the " + action + " policy");
  }

  private String get(String path) throws IOException {
    HttpResponse<String> response = InboundFixture.send(InboundFixture.plaintextHttp(), "GET",
        "http://127.0.0.1:" + port + path);
    return response.statusCode() + " " + response.body();
  }

  @Test
  void aCustomPolicyDeniesWhatItsRulesMatchWith403() throws IOException {
    apply("CUSTOM", """
        provider:
          name: opa
        rules:
        - to:
          - operation:
              paths: ["/admin/*"]
        """, "spec.action");

    assertThat(get("/admin/users")).isEqualTo("403 RBAC: access denied");
    assertThat(get("/reviews/1")).isEqualTo("200 GET /reviews/1");
  }

  @Test
  void aDenyOnFilterMetadataDeniesWhatItsOtherFieldsMatch() throws IOException {
    apply("DENY", """
        rules:
        - to:
          - operation:
              paths: ["/reviews/*"]
          when:
          - key: experimental.envoy.filters.network.mysql_proxy[db.table]
            values: ["[update]"]
        """, "spec.rules[0].when[0].key");

    assertThat(get("/reviews/1")).isEqualTo("403 RBAC: access denied");
    assertThat(get("/health")).isEqualTo("200 GET /health");
  }

  @Test
  void anAllowRuleOnFilterMetadataAllowsNothing() throws IOException {
    apply("ALLOW", """
        rules:
        - when:
          - key: experimental.envoy.filters.network.mysql_proxy[db.table]
            values: ["[update]"]
        """, "spec.rules[0].when[0].key");

    assertThat(get("/reviews/1")).isEqualTo("403 RBAC: access denied");
  }
}
