package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An unmodified proxyless gRPC server registers itself, takes its inbound listener from
 * mesh-control, and enforces AuthorizationPolicy through gRPC's RBAC filter (gRFC A41). What gRPC
 * cannot evaluate (JWT claims, an ext_authz provider) fails closed, as in Istio.
 */
class GrpcServerAuthorizationIT {
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

  private static String policy(String action, String paths) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: greeter
        spec:
          selector:
            matchLabels:
              app: greeter
          action: %s
          rules:
          - to:
            - operation:
                paths: [%s]
        """.formatted(action, paths);
  }

  @Test
  void aDenyPolicyOnTheMethodPathRefusesTheCallWithPermissionDenied() {
    mesh.write("authz.yaml", policy("DENY", "\"/inmesh.testing.Greeter/*\""));

    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("PERMISSION_DENIED"), Duration.ofSeconds(15),
        "the DENY policy");
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("PERMISSION_DENIED", 20));

    mesh.write("authz.yaml", "");
    MeshFixture.awaitAnswerFrom(client, "v1", Map.of());
  }

  @Test
  void withAnAllowPolicyOnlyMatchingCallsAreServed() {
    mesh.write("authz.yaml", policy("ALLOW", "\"/inmesh.testing.Greeter/SayHello\""));
    MeshFixture.await(() -> mesh.control.xds().snapshot("default").listeners().resources().keySet().stream()
        .anyMatch(n -> n.contains("listening_address")), Duration.ofSeconds(5), "inbound listeners");
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("v1", 20));

    mesh.write("authz.yaml", policy("ALLOW", "\"/some.other.Service/*\""));
    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("PERMISSION_DENIED"), Duration.ofSeconds(15),
        "the ALLOW policy that matches nothing here");
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("PERMISSION_DENIED", 20));
  }

  private static String jwtPolicy(String action, String rules) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: greeter
        spec:
          selector:
            matchLabels:
              app: greeter
          action: %s
          rules:
        %s""".formatted(action, rules.indent(2).stripTrailing() + "\n");
  }

  private void awaitRefusal(String what) {
    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("PERMISSION_DENIED"), Duration.ofSeconds(15),
        what);
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("PERMISSION_DENIED", 20));
  }

  @Test
  void aDenyOnRequestPrincipalsRefusesEveryCallItsOtherFieldsMatchSinceGrpcSeesNoJwt() {
    // gRPC matches JWT metadata as "never": sent as such, this DENY would never deny
    mesh.write("authz.yaml", jwtPolicy("DENY", """
        - from:
          - source:
              requestPrincipals: ["https://accounts.example.com/*"]
          to:
          - operation:
              paths: ["/inmesh.testing.Greeter/*"]
        """));

    awaitRefusal("the DENY policy on requestPrincipals");
  }

  @Test
  void anAllowRuleOnJwtClaimsAllowsNothingWhileTheOtherRulesStillAllow() {
    mesh.write("authz.yaml", jwtPolicy("ALLOW", """
        - when:
          - key: request.auth.claims[groups]
            values: ["greeters"]
        """));
    awaitRefusal("the ALLOW policy whose only rule needs a JWT");

    mesh.write("authz.yaml", jwtPolicy("ALLOW", """
        - when:
          - key: request.auth.claims[groups]
            values: ["greeters"]
        - to:
          - operation:
              paths: ["/inmesh.testing.Greeter/SayHello"]
        """));
    MeshFixture.awaitAnswerFrom(client, "v1", Map.of());
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("v1", 20));
  }

  @Test
  void aCustomPolicyRefusesTheCallsItsRulesMatchSinceThereIsNoExtAuthz() {
    mesh.write("authz.yaml", jwtPolicy("CUSTOM", """
        - to:
          - operation:
              paths: ["/inmesh.testing.Greeter/*"]
        """).replace("  action: CUSTOM", "  action: CUSTOM\n  provider:\n    name: opa"));
    awaitRefusal("the CUSTOM policy");

    mesh.write("authz.yaml", jwtPolicy("CUSTOM", """
        - to:
          - operation:
              paths: ["/some.other.Service/*"]
        """).replace("  action: CUSTOM", "  action: CUSTOM\n  provider:\n    name: opa"));
    MeshFixture.awaitAnswerFrom(client, "v1", Map.of());
  }
}
