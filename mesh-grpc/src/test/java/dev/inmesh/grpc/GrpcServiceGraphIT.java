package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.Mesh;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A gRPC channel inside a workload is that workload on the dashboard: reviews v2 calls ratings
 * through {@link MeshGrpc#channel}, and the service graph mesh-control serves has the edge
 * reviews v2 → ratings v1 (from grpc-xds's own load reports), no node of the channel's own, the
 * clients list names the channel by its workload, and its Istio metrics are reviews v2's.
 */
class GrpcServiceGraphIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SimpleMeterRegistry reviewsMeters = new SimpleMeterRegistry();

  @Test
  void theEdgeOfAGrpcChannelStartsAtTheWorkloadThatOwnsIt() throws Exception {
    try (GrpcMesh mesh = new GrpcMesh()) {
      mesh.backend("ratings", "v1", true);
      Mesh reviews = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default")
              .service("reviews").serviceAccount("reviews").label("app", "reviews").label("version", "v2")
              .servePort("http", 9080, GrpcMesh.freePort()).meterRegistry(reviewsMeters).readyTimeout(GrpcMesh.WAIT),
          "reviews").build();
      try {
        mesh.awaitWorkloads(2);
        ManagedChannel ratings = mesh.channel(reviews, "ratings:9000");
        for (int i = 0; i < 20; i++) {
          assertThat(Greeter.sayHello(ratings, "reviews", Map.of(), GrpcMesh.WAIT)).isEqualTo("v1: hello reviews");
        }
        Await.until(() -> mesh.control.xds().loadReports().edges().stream()
                .anyMatch(e -> e.service().startsWith("ratings.") && e.succeeded() > 0),
            GrpcMesh.WAIT, "grpc-xds's load report of the calls to ratings");

        JsonNode graph = get(mesh, "/debug/graph");
        List<String> edges = new ArrayList<>();
        graph.get("edges").forEach(e -> edges.add(e.get("from").asText() + " -> " + e.get("to").asText()));
        List<String> nodes = new ArrayList<>();
        graph.get("nodes").forEach(n -> nodes.add(n.get("id").asText()));
        assertThat(edges).as("the calls are reviews v2's").contains("reviews.default/v2 -> ratings.default/v1");
        assertThat(nodes).as("the channel is no node of its own").containsExactlyInAnyOrder(
            "reviews.default/v2", "ratings.default/v1");

        List<String> clients = new ArrayList<>();
        get(mesh, "/debug/clients").forEach(c -> clients.add(c.get("node").asText()));
        assertThat(clients).as("the channel's xDS node is named for its workload")
            .anyMatch(node -> node.startsWith("reviews~grpc~"))
            .noneMatch(node -> node.startsWith("grpc-client"));

        Counter sent = reviewsMeters.find("istio.requests").tag("reporter", "source").tag("request_protocol", "grpc")
            .tag("destination_service", "ratings.default.svc.cluster.local").counter();
        assertThat(sent).as("reviews' client-side gRPC metrics").isNotNull();
        assertThat(sent.count()).isEqualTo(20);
        assertThat(sent.getId().getTag("source_workload")).isEqualTo("reviews");
        assertThat(sent.getId().getTag("source_app")).isEqualTo("reviews");
        assertThat(sent.getId().getTag("source_version")).isEqualTo("v2");
      } finally {
        reviews.close();
      }
    }
  }

  private static JsonNode get(GrpcMesh mesh, String path) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + mesh.control.httpPort() + path))
        .header("Authorization", "Bearer " + mesh.control.adminCredential().orElseThrow().token()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("%s: %s", path, response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }
}
