package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inmesh.control.config.ConfigResource;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each bad input is rejected with a message that names the file or request, the resource and the
 * field, and the config in force stays exactly as it was, for clients too.
 */
class ConfigRejectionIT {
  @TempDir
  Path configDir;
  MeshFixture mesh;
  AdminClient admin;
  ManagedChannel client;
  String goodVirtualService;

  @BeforeEach
  void startMesh() throws Exception {
    mesh = new MeshFixture(configDir, Duration.ofSeconds(1));
    mesh.backend("v1");
    mesh.backend("v2");
    mesh.awaitWorkloads(2);
    mesh.write("greeter-dr.yaml", MeshFixture.DESTINATION_RULE);
    goodVirtualService = GrpcXdsRoutingIT.split(0, 100);
    mesh.write("greeter-vs.yaml", goodVirtualService);
    admin = AdminClient.admin(mesh.control);
    client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v2", Map.of());
  }

  @AfterEach
  void stopMesh() throws Exception {
    mesh.close();
  }

  static Stream<Arguments> badVirtualServices() {
    String good = GrpcXdsRoutingIT.split(0, 100);
    String v1Abort = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - fault:
              abort:
                httpStatus: 503
                percentage:
                  value: 150
            route:
            - destination:
                host: greeter
                subset: v1
        """;
    return Stream.of(
        Arguments.of("malformed YAML", good.replace("  http:\n", "  http: [\n"), "", "malformed YAML"),
        Arguments.of("an unknown field", good.replace("  - route:\n", "  - rout:\n    retries: {attempts: 1}\n  - route:\n"),
            "spec.http[0].rout", "unknown field"),
        Arguments.of("an invalid regex", good.replace("  - route:\n", "  - match:\n    - uri:\n        regex: \"/api/(v1\"\n    route:\n"),
            "spec.http[0].match[0].uri.regex", "invalid RE2 regular expression"),
        Arguments.of("a negative weight", GrpcXdsRoutingIT.split(100, -20),
            "spec.http[0].route[1].weight", "must not be negative"),
        Arguments.of("a fault percentage over 100", v1Abort,
            "spec.http[0].fault.abort.percentage.value", "must be between 0 and 100"));
  }

  @ParameterizedTest(name = "{0} in a config file")
  @MethodSource("badVirtualServices")
  void aBadFileIsRejectedAndTheRunningConfigStays(String what, String yaml, String field, String message) {
    List<ConfigResource> before = mesh.control.resources();

    mesh.write("greeter-vs.yaml", yaml);

    JsonNode source = sourceStatus("greeter-vs.yaml");
    assertThat(source.get("accepted").asBoolean()).isFalse();
    String error = errorContaining(source.get("errors"), message);
    assertThat(error).startsWith("greeter-vs.yaml").contains(field);
    if (!field.isEmpty()) {
      assertThat(error).contains("VirtualService/default/greeter");
    }
    assertThat(mesh.control.resources()).isEqualTo(before);
    assertThat(MeshFixture.split(client, 50, Map.of())).containsOnly(Map.entry("v2", 50));
  }

  @ParameterizedTest(name = "{0} in an apply request")
  @MethodSource("badVirtualServices")
  void aBadApplyIsRejectedWithEveryErrorAndChangesNothing(String what, String yaml, String field, String message) {
    List<ConfigResource> before = mesh.control.resources();

    AdminClient.Reply reply = admin.post("/apis/apply", yaml.replace("name: greeter", "name: greeter-api"));

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.body().get("accepted").asBoolean()).isFalse();
    assertThat(errorContaining(reply.body().get("errors"), message)).startsWith("request").contains(field);
    assertThat(mesh.control.resources()).isEqualTo(before);
  }

  @Test
  void theSameResourceDefinedTwiceInTheConfigDirectoryIsRejected() {
    List<ConfigResource> before = mesh.control.resources();

    mesh.write("zz-copy.yaml", GrpcXdsRoutingIT.split(100, 0));

    JsonNode source = sourceStatus("zz-copy.yaml");
    assertThat(source.get("accepted").asBoolean()).isFalse();
    assertThat(source.get("errors").get(0).asText())
        .contains("zz-copy.yaml", "VirtualService/default/greeter", "already defined in greeter-vs.yaml");
    assertThat(mesh.control.resources()).isEqualTo(before);
    assertThat(MeshFixture.split(client, 50, Map.of())).containsOnly(Map.entry("v2", 50));
  }

  @Test
  void aValidApplyTakesEffectAndADeleteUndoesIt() {
    AdminClient.Reply applied = admin.post("/apis/apply", """
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata:
          name: greeter-extra
        spec:
          host: greeter
          trafficPolicy:
            connectionPool:
              http:
                http2MaxRequests: 100
                h2UpgradePolicy: UPGRADE
        """);
    assertThat(applied.status()).isEqualTo(200);
    assertThat(applied.body().get("changed").get(0).asText()).isEqualTo("DestinationRule/default/greeter-extra");
    assertThat(applied.body().get("warnings").get(0).asText())
        .contains("spec.trafficPolicy.connectionPool.http.h2UpgradePolicy", "accepted but not enforced");

    AdminClient.Reply fileOwned = admin.delete("/apis/VirtualService/default/greeter");
    assertThat(fileOwned.status()).isEqualTo(400);
    assertThat(fileOwned.body().get("errors").get(0).asText()).contains("defined in greeter-vs.yaml");

    assertThat(admin.delete("/apis/DestinationRule/default/greeter-extra").status()).isEqualTo(200);
    assertThat(mesh.control.resources()).extracting(r -> r.key().toString())
        .containsExactlyInAnyOrder("DestinationRule/default/greeter", "VirtualService/default/greeter");
  }

  private static String errorContaining(JsonNode errors, String message) {
    for (JsonNode error : errors) {
      if (error.asText().contains(message)) {
        return error.asText();
      }
    }
    throw new AssertionError("no error says '" + message + "' in " + errors);
  }

  private JsonNode sourceStatus(String source) {
    for (JsonNode status : admin.get("/apis/status").body().get("sources")) {
      if (status.get("source").asText().equals(source)) {
        return status;
      }
    }
    throw new AssertionError("no status for " + source);
  }
}
