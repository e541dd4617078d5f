package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.testing.Await;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data plane and its control plane: outages, NACKs, and calls made before config arrives. */
class MeshHttpControlPlaneIT {
  private static final String URL = "http://reviews:9080/reviews/1";

  @TempDir
  Path configDir;
  HttpMesh mesh;

  @AfterEach
  void stop() throws Exception {
    if (mesh != null) {
      mesh.close();
    }
  }

  private static String split(int v1, int v2) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: %d
            - destination: {host: reviews, subset: v2}
              weight: %d
        """.formatted(v1, v2);
  }

  @Test
  void callsKeepSucceedingOnTheLastGoodConfigWhileMeshControlIsDownAndNewConfigAppliesWhenItIsBack() throws Exception {
    mesh = new HttpMesh(configDir);
    mesh.backend("v1");
    mesh.backend("v2");
    mesh.awaitWorkloads(2);
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE);
    mesh.write("reviews-vs.yaml", split(100, 0));
    Mesh meshClient = mesh.client();
    OkHttpClient client = MeshHttp.client(meshClient);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());

    int port = mesh.xdsPort();
    mesh.control.close();
    mesh.writeFile("reviews-vs.yaml", split(0, 100));
    long downUntil = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    int calls = 0;
    while (System.nanoTime() < downUntil) {
      assertThat(HttpMesh.get(client, URL, Map.of())).isEqualTo("v1");
      calls++;
      HttpMesh.sleep(Duration.ofMillis(20));
    }
    assertThat(calls).isGreaterThan(500);

    mesh.startControl(port);
    // the client retries with a backoff capped at 10 s and the workloads re-register within 5 s
    AtomicReference<String> answer = new AtomicReference<>();
    Await.until(() -> {
      answer.set(HttpMesh.get(client, URL, Map.of()));
      return answer.get().equals("v2");
    }, Duration.ofSeconds(30), "the new config after mesh-control came back",
        () -> "answer " + answer.get() + ", client waiting for " + meshClient.waitingFor());
    assertThat(HttpMesh.split(client, URL, 50, Map.of())).containsOnly(Map.entry("v2", 50));
  }

  @Test
  void anUpdateTheClientWouldNackIsRefusedAtMeshControlAndTheRestStillReachesTheClient() throws Exception {
    mesh = new HttpMesh(configDir);
    mesh.backend("v1");
    mesh.backend("v2");
    mesh.awaitWorkloads(2);
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE);
    mesh.write("reviews-vs.yaml", split(100, 0));
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    Mesh client = HttpMesh.withIdentity(Mesh.builder().controlServers(mesh.xdsAddress()), mesh.control, "default", "default")
        .meterRegistry(registry).build();
    mesh.closeables.add(client);
    OkHttpClient http = MeshHttp.client(client);
    HttpMesh.awaitAnswer(http, URL, "v1", Map.of());

    // resolution NONE asks for an original-destination cluster, which needs a proxy: the client
    // would NACK it (mesh-core's own checks, ResourceParsersTest), so mesh-control refuses the file
    mesh.writeWithoutWaitingForClients("passthrough.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: legacy-passthrough
        spec:
          hosts: [legacy.example.com]
          ports:
          - number: 80
            name: http
          resolution: NONE
        """);
    mesh.writeWithoutWaitingForClients("reviews-dr.yaml", HttpMesh.DESTINATION_RULE.replace("  host: reviews\n",
        "  host: reviews\n  trafficPolicy:\n    loadBalancer:\n      simple: LEAST_REQUEST\n"));

    HttpMesh.await(() -> client.snapshot().cluster("outbound|9080||reviews.default.svc.cluster.local")
        .map(c -> c.config().balancer().policy().name().equals("LEAST_REQUEST")).orElse(false),
        Duration.ofSeconds(10), "the DestinationRule change to reach the client");
    assertThat(mesh.control.configStatus()).filteredOn(s -> s.source().endsWith("passthrough.yaml")).singleElement()
        .satisfies(status -> assertThat(status.problems()).anySatisfy(p -> assertThat(p.toString())
            .contains("ServiceEntry/default/legacy-passthrough: spec.resolution").contains("ORIGINAL_DST")));
    assertThat(nack(mesh)).as("no NACK in /debug/clients").isNull();
    assertThat(client.snapshot().resources().lastNacks()).isEmpty();
    assertThat(client.snapshot().cluster("outbound|80||legacy.example.com")).isEmpty();
    assertThat(HttpMesh.split(http, URL, 50, Map.of())).containsOnly(Map.entry("v1", 50));
  }

  private static JsonNode nack(HttpMesh mesh) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mesh.control.httpPort() + "/debug/clients"))
              .header("Authorization", "Bearer " + mesh.control.adminCredential().orElseThrow().token()).build(),
          HttpResponse.BodyHandlers.ofString());
      for (JsonNode client : new ObjectMapper().readTree(response.body())) {
        if (client.get("node").asText().startsWith("client~") && client.get("types").has("CDS")) {
          return client.get("types").get("CDS").get("lastNack");
        }
      }
      return null;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aFirstCallMadeBeforeConfigArrivesWaitsAndThenSucceeds() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    try (MockWebServer backend = new MockWebServer();
        Mesh client = Mesh.builder().controlServers("127.0.0.1:" + port).readyTimeout(Duration.ofSeconds(20)).build()) {
      backend.enqueue(new MockResponse.Builder().code(200).body("static answer").build());
      backend.start(0);
      OkHttpClient http = MeshHttp.client(client);
      CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> HttpMesh.get(http, URL, Map.of()));
      HttpMesh.sleep(Duration.ofSeconds(1));
      assertThat(first).as("the call waits for config").isNotDone();

      java.nio.file.Files.writeString(configDir.resolve("reviews.yaml"), """
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata:
            name: reviews
          spec:
            hosts: [reviews]
            location: MESH_INTERNAL
            ports:
            - number: 9080
              name: http
              targetPort: %d
            resolution: STATIC
            endpoints:
            - address: 127.0.0.1
          """.formatted(backend.getPort()));
      // a client without a certificate reads config from the read-only port, here the one it was dialling
      mesh = new HttpMesh(configDir, 0, port);

      assertThat(first.get(20, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("static");
    }
  }

  @Test
  void aFirstCallFailsWithWhatItWasStillWaitingForWhenTheBoundPasses() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    try (Mesh client = Mesh.builder().controlServers("127.0.0.1:" + port).readyTimeout(Duration.ofMillis(700)).build()) {
      OkHttpClient http = MeshHttp.client(client);

      assertThatThrownBy(() -> http.newCall(new Request.Builder().url(URL).build()).execute())
          .isInstanceOf(MeshCallException.class)
          .hasMessageContaining("GET " + URL)
          .hasMessageContaining("no mesh config after 700 ms")
          .hasMessageContaining("still waiting for LDS, CDS from 127.0.0.1:" + port);
    }
  }
}
