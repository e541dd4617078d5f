package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.control.cli.Meshctl;
import io.grpc.ManagedChannel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meshctl explain} names the policy and rule that allow or deny a call, and agrees with what
 * the real destination does: an unmodified proxyless gRPC server that enforces the policies
 * through gRPC's own RBAC filter, called by an unmodified grpc-xds client.
 */
class ExplainAuthorizationIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SAY_HELLO = "grpc://greeter:9000/inmesh.testing.Greeter/SayHello";

  @TempDir
  Path configDir;
  MeshFixture mesh;
  XdsGreeterServer server;
  ManagedChannel client;

  @BeforeEach
  void start() throws Exception {
    mesh = new MeshFixture(configDir, Duration.ofSeconds(1));
    server = XdsGreeterServer.start(mesh.access(), "greeter", "default", 9000, "v1");
    mesh.awaitWorkloads(1);
    client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v1", Map.of());
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    mesh.close();
  }

  private static String policy(String name, String action, String paths) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: %s
        spec:
          selector:
            matchLabels:
              app: greeter
          action: %s
          rules:
          - to:
            - operation:
                paths: [%s]
        """.formatted(name, action, paths);
  }

  @Test
  void withNoPolicyTheCallIsAllowedAndExplainSaysSo() throws Exception {
    JsonNode authz = authorization(SAY_HELLO);

    assertThat(authz.path("decision").asText()).isEqualTo("allowed");
    assertThat(authz.path("detail").asText()).isEqualTo("no policy: allowed");
    assertThat(authz.path("principal").isNull()).as("a plaintext caller has no principal").isTrue();
    assertThat(MeshFixture.split(client, 5, Map.of())).containsOnly(Map.entry("v1", 5));
  }

  @Test
  void anAllowRuleThatMatchesIsNamedAndOneThatMatchesNothingDenies() throws Exception {
    mesh.write("authz.yaml", policy("greeter", "ALLOW", "\"/inmesh.testing.Greeter/SayHello\""));

    JsonNode allowed = authorization(SAY_HELLO);
    assertThat(allowed.path("decision").asText()).isEqualTo("allowed");
    assertThat(allowed.path("detail").asText()).isEqualTo("allowed by ALLOW policy AuthorizationPolicy default/greeter, rule 0");
    assertThat(allowed.path("policy").asText()).isEqualTo("ns[default]-policy[greeter]-rule[0]");
    assertThat(MeshFixture.split(client, 5, Map.of())).as("the server agrees").containsOnly(Map.entry("v1", 5));

    JsonNode other = authorization("grpc://greeter:9000/inmesh.testing.Greeter/SayGoodbye");
    assertThat(other.path("decision").asText()).isEqualTo("denied");
    assertThat(other.path("detail").asText()).isEqualTo("allow policies present, none matched: denied");

    Run table = meshctl("explain", "client-1", SAY_HELLO);
    assertThat(table.out()).contains("Authz:").contains("allowed by ALLOW policy AuthorizationPolicy default/greeter, rule 0")
        .contains("no principal (plaintext)");
  }

  @Test
  void aDenyRuleWinsOverAMatchingAllowRuleAndIsNamed() throws Exception {
    mesh.write("allow.yaml", policy("greeter-allow", "ALLOW", "\"/inmesh.testing.Greeter/SayHello\""));
    mesh.write("deny.yaml", policy("greeter-deny", "DENY", "\"/inmesh.testing.Greeter/*\""));

    JsonNode denied = authorization(SAY_HELLO);
    assertThat(denied.path("decision").asText()).isEqualTo("denied");
    assertThat(denied.path("detail").asText()).isEqualTo("denied by DENY policy AuthorizationPolicy default/greeter-deny, rule 0");
    assertThat(denied.path("policy").asText()).isEqualTo("ns[default]-policy[greeter-deny]-rule[0]");
    assertThat(denied.path("notes").toString()).contains("ALLOW policy AuthorizationPolicy default/greeter-allow, rule 0"
        + " matches too; DENY wins");
    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("PERMISSION_DENIED"), Duration.ofSeconds(15),
        "the server to enforce the DENY policy");
    assertThat(MeshFixture.split(client, 5, Map.of())).as("the server agrees").containsOnly(Map.entry("PERMISSION_DENIED", 5));
  }

  /** The one destination's authorization in {@code meshctl explain -o json}. */
  private JsonNode authorization(String url) throws Exception {
    Run run = meshctl("explain", "client-1", url, "-o", "json");
    assertThat(run.status()).as(run.err()).isZero();
    JsonNode authorization = JSON.readTree(run.out()).path("authorization");
    assertThat(authorization.size()).as(run.out()).isEqualTo(1);
    return authorization.get(0);
  }

  record Run(int status, String out, String err) {}

  private Run meshctl(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Meshctl.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        Map.of("MESHCTL_CREDENTIAL", mesh.control.adminCredentialFile().orElseThrow().toString()));
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
