package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.xds.LoadReports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import mockwebserver3.MockResponse;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clients report over xDS LRS what they sent where; mesh-control's totals match what the client saw. */
class LoadReportingIT {
  private static final String URL = "http://reviews:9080/reviews/1";

  @TempDir
  Path configDir;

  @Test
  void mesh_controlCountsEveryCallAClientMadeWithItsOutcome() throws Exception {
    try (HttpMesh mesh = new HttpMesh(configDir)) {
      HttpBackend v1 = mesh.backend("v1");
      HttpBackend v2 = mesh.backend("v2");
      v2.behave(request -> new MockResponse.Builder().code(500).body("broken").build());
      mesh.awaitWorkloads(2);
      Mesh client = mesh.client();
      OkHttpClient http = MeshHttp.client(client);
      client.awaitReady(Duration.ofSeconds(10));
      HttpMesh.await(mesh.control::converged, Duration.ofSeconds(10), "the client to hold both workloads");

      Map<String, Integer> seen = HttpMesh.split(http, URL, 30, Map.of());
      assertThat(v2.requests.get()).as("attempts that met the broken v2; seen %s, endpoints %s", seen,
          client.snapshot().cluster("outbound|9080||reviews.default.svc.cluster.local").map(c -> c.endpoints()))
          .isPositive();

      // every attempt is reported: v1's answers as successes, v2's 500s as errors (retried or not)
      String cluster = "outbound|9080||reviews.default.svc.cluster.local";
      long attempts = v1.requests.get() + v2.requests.get();
      HttpMesh.await(() -> total(mesh, cluster) == attempts, Duration.ofSeconds(10), attempts + " attempts reported over LRS");
      LoadReports.Edge edge = mesh.control.xds().loadReports().edges().stream()
          .filter(e -> e.cluster().equals(cluster)).findFirst().orElseThrow();
      assertThat(edge.service()).isEqualTo("reviews.default.svc.cluster.local");
      assertThat(edge.succeeded()).isEqualTo(v1.requests.get());
      assertThat(edge.failed()).isEqualTo(v2.requests.get());
      assertThat(edge.p50Millis()).as("median latency, reported as a named load metric").isPositive();
      assertThat(edge.p99Millis()).isGreaterThanOrEqualTo(edge.p50Millis());
      assertThat(seen.getOrDefault("v1", 0) + seen.getOrDefault("500", 0)).isEqualTo(30);

      HttpResponse<String> json = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + mesh.control.httpPort() + "/debug/load")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(json.body().replace(" ", "")).contains("\"cluster\":\"" + cluster + "\"",
          "\"service\":\"reviews.default.svc.cluster.local\"");
    }
  }

  private static long total(HttpMesh mesh, String cluster) {
    List<LoadReports.Edge> edges = mesh.control.xds().loadReports().edges();
    return edges.stream().filter(e -> e.cluster().equals(cluster)).mapToLong(e -> e.succeeded() + e.failed()).sum();
  }
}
