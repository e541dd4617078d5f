package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.GreeterBackend;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config and registry change under running traffic; clients follow, and nothing fails. */
class ConfigChangesIT {
  private static final Duration GRACE = Duration.ofSeconds(2);

  @TempDir
  Path configDir;
  MeshFixture mesh;
  GreeterBackend v2;

  @BeforeEach
  void startMesh() throws Exception {
    mesh = new MeshFixture(configDir, GRACE);
    mesh.backend("v1");
    v2 = mesh.backend("v2");
    mesh.awaitWorkloads(2);
    mesh.write("greeter-dr.yaml", MeshFixture.DESTINATION_RULE);
  }

  @AfterEach
  void stopMesh() throws Exception {
    mesh.close();
  }

  record Outcome(long startedNanos, String result) {}

  @Test
  void aWeightChangedInAFileIsObeyedWithinTwoSecondsWithoutAFailedCall() throws Exception {
    mesh.write("greeter-vs.yaml", GrpcXdsRoutingIT.split(80, 20));
    ManagedChannel client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v2", Map.of());

    List<Outcome> outcomes = new ArrayList<>();
    long changedAt = 0;
    long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < end) {
      if (changedAt == 0 && System.nanoTime() > end - Duration.ofSeconds(4).toNanos()) {
        // written atomically, and picked up by mesh-control's own polling (no rescan call)
        Path temp = configDir.resolve(".greeter-vs.tmp");
        Files.writeString(temp, GrpcXdsRoutingIT.split(100, 0), StandardCharsets.UTF_8);
        Files.move(temp, configDir.resolve("greeter-vs.yaml"), StandardCopyOption.ATOMIC_MOVE);
        changedAt = System.nanoTime();
      }
      long started = System.nanoTime();
      String result;
      try {
        result = Greeter.versionOf(Greeter.sayHello(client, "mesh", Map.of(), Duration.ofSeconds(2)));
      } catch (StatusRuntimeException e) {
        result = e.getStatus().getCode().name();
      }
      outcomes.add(new Outcome(started, result));
    }

    final long changed = changedAt;
    assertThat(outcomes).extracting(Outcome::result).containsOnly("v1", "v2");
    assertThat(outcomes.stream().filter(o -> o.startedNanos() < changed)).extracting(Outcome::result).contains("v2");
    List<Outcome> afterTwoSeconds = outcomes.stream()
        .filter(o -> o.startedNanos() > changed + Duration.ofSeconds(2).toNanos())
        .toList();
    assertThat(afterTwoSeconds).hasSizeGreaterThan(50);
    assertThat(afterTwoSeconds).extracting(Outcome::result).containsOnly("v1");
  }

  @Test
  void aStoppedBackendLeavesTheEndpointSetWithinTheGracePeriod() throws Exception {
    ManagedChannel client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v2", Map.of());
    assertThat(endpointPorts()).hasSize(2);

    long stopped = System.nanoTime();
    v2.close();
    MeshFixture.await(() -> endpointPorts().size() == 1, GRACE.plusSeconds(1), "v2 to leave the endpoints");
    long tookMillis = (System.nanoTime() - stopped) / 1_000_000;

    assertThat(tookMillis).isLessThan(GRACE.plusSeconds(1).toMillis());
    assertThat(mesh.control.workloads()).extracting(w -> w.metadata().labels().get("version")).containsOnly("v1");
    MeshFixture.awaitAnswerFrom(client, "v1", Map.of());
    assertThat(MeshFixture.split(client, 100, Map.of())).containsOnly(Map.entry("v1", 100));
  }

  @Test
  void aRouteToAnUndefinedSubsetIsAcceptedWithAWarningNamingTheVirtualServiceAndSubset() {
    AdminClient admin = AdminClient.admin(mesh.control);
    mesh.write("greeter-vs.yaml", GrpcXdsRoutingIT.split(80, 20).replace("subset: v2", "subset: v3"));

    JsonNode resources = admin.get("/apis/resources").body();
    assertThat(resources.findValuesAsText("name")).contains("greeter");
    MeshFixture.await(() -> admin.get("/apis/status").body().get("translation").toString().contains("subset v3"),
        Duration.ofSeconds(5), "the translation warning");
    String warning = first(admin.get("/apis/status").body().get("translation"), "subset v3");
    assertThat(warning)
        .contains("VirtualService/default/greeter")
        .contains("spec.http[0].route[1].destination.subset")
        .contains("not defined by any DestinationRule");
  }

  @Test
  void aConfigTheClientNacksShowsInDebugClientsWithTheClientsErrorAndIsNotResent() throws Exception {
    AdminClient admin = AdminClient.admin(mesh.control);
    // mesh-control sends nothing its own clients would NACK; this raw ADS client NACKs a CDS
    // response with more clusters than it was first sent, as a client with a resource limit would
    try (var limited = dev.inmesh.control.cli.LimitedAdsClient.withClusterLimit(mesh.readOnlyAddress(), "limited-client")) {
      MeshFixture.await(() -> {
        // the client shows in /debug/clients once its first request has arrived
        JsonNode cds = findTypes(admin, "limited-client").path("CDS");
        return !cds.path("acked").asText().isEmpty();
      }, Duration.ofSeconds(10), "the limited client's first CDS ACK");

      mesh.writeWithoutWaitingForClients("greeter-dr.yaml", MeshFixture.DESTINATION_RULE
          + "  - name: v3\n    labels:\n      version: v3\n  - name: v4\n    labels:\n      version: v4\n");

      MeshFixture.await(() -> clientTypes(admin, "limited-client").get("CDS").path("lastNack").isObject(),
          Duration.ofSeconds(10), "a NACK in /debug/clients");
      JsonNode cds = clientTypes(admin, "limited-client").get("CDS");
      assertThat(cds.get("lastNack").get("error").asText()).contains("holds at most");
      assertThat(cds.get("lastNack").get("version").asText()).isEqualTo(cds.get("sent").asText());
      assertThat(cds.get("acked").asText()).isNotEqualTo(cds.get("sent").asText());

      int responses = cds.get("responses").asInt();
      sleep(Duration.ofSeconds(2));
      assertThat(clientTypes(admin, "limited-client").get("CDS").get("responses").asInt())
          .as("CDS responses after the NACK").isEqualTo(responses);

      mesh.write("greeter-dr.yaml", MeshFixture.DESTINATION_RULE);
      MeshFixture.await(() -> {
        JsonNode now = clientTypes(admin, "limited-client").get("CDS");
        return now.get("acked").asText().equals(now.get("sent").asText());
      }, Duration.ofSeconds(10), "the smaller config to be ACKed");
    }

    // istiod's meters tell the same story
    String metrics = admin.get("/metrics").body().asText();
    assertThat(metrics).contains("pilot_xds ").contains("pilot_xds_pushes_total{type=\"cds\"}")
        .contains("pilot_total_xds_rejects_total{type=\"cds\"} 1.0")
        .contains("pilot_proxy_convergence_time_seconds_count");
  }

  @Test
  void randomBalancingReachesProxylessGrpcAsRoundRobinWithAWarningInsteadOfANack() {
    AdminClient admin = AdminClient.admin(mesh.control);
    ManagedChannel client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v1", Map.of());

    mesh.write("greeter-dr.yaml", MeshFixture.DESTINATION_RULE.replace("  host: greeter\n",
        "  host: greeter\n  trafficPolicy:\n    loadBalancer:\n      simple: RANDOM\n"));

    MeshFixture.await(() -> admin.get("/apis/status").body().get("translation").toString().contains("no RANDOM balancer"),
        Duration.ofSeconds(10), "the translation warning");
    JsonNode cds = clientTypes(admin, "client-").get("CDS");
    assertThat(cds.get("acked").asText()).isEqualTo(cds.get("sent").asText());
    assertThat(cds.path("lastNack").isMissingNode() || cds.path("lastNack").isNull()).as("no NACK: " + cds).isTrue();
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnlyKeys("v1", "v2");
  }

  private static JsonNode clientTypes(AdminClient admin, String nodePrefix) {
    JsonNode types = findTypes(admin, nodePrefix);
    if (types.isMissingNode()) {
      throw new AssertionError("no client " + nodePrefix + "… in /debug/clients");
    }
    return types;
  }

  /** The types of the first client whose node id starts with {@code nodePrefix}, or a missing node. */
  private static JsonNode findTypes(AdminClient admin, String nodePrefix) {
    for (JsonNode client : admin.get("/debug/clients").body()) {
      if (client.get("node").asText().startsWith(nodePrefix)) {
        return client.path("types");
      }
    }
    return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  private List<Integer> endpointPorts() {
    var snapshot = mesh.control.xds().snapshot("default");
    var assignment = snapshot.endpoints().resources().get("outbound|9000||greeter.default.svc.cluster.local");
    List<Integer> ports = new ArrayList<>();
    assignment.getEndpointsList().forEach(locality -> locality.getLbEndpointsList()
        .forEach(e -> ports.add(e.getEndpoint().getAddress().getSocketAddress().getPortValue())));
    return ports;
  }

  private static String first(JsonNode lines, String containing) {
    for (JsonNode line : lines) {
      if (line.asText().contains(containing)) {
        return line.asText();
      }
    }
    throw new AssertionError("no line contains '" + containing + "' in " + lines);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
