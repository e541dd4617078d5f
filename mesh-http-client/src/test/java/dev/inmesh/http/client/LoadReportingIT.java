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
          URI.create("http://127.0.0.1:" + mesh.control.httpPort() + "/debug/load"))
              .header("Authorization", "Bearer " + mesh.control.adminCredential().orElseThrow().token()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(json.body().replace(" ", "")).contains("\"cluster\":\"" + cluster + "\"",
          "\"service\":\"reviews.default.svc.cluster.local\"");
    }
  }

  @Test
  void loadReportsGoOnTheAdsStreamsConnection() throws Exception {
    try (HttpMesh mesh = new HttpMesh(configDir);
         CountingRelay relay = new CountingRelay(mesh.xdsAddress())) {
      HttpBackend v1 = mesh.backend("v1");
      mesh.awaitWorkloads(1);
      try (Mesh client = HttpMesh.withIdentity(Mesh.builder().controlServers(relay.address()), mesh.control, "default",
          "default").build()) {
        OkHttpClient http = MeshHttp.client(client);
        client.awaitReady(Duration.ofSeconds(10));
        HttpMesh.split(http, URL, 3, Map.of());
        String cluster = "outbound|9080||reviews.default.svc.cluster.local";
        HttpMesh.await(() -> total(mesh, cluster) == v1.requests.get(), Duration.ofSeconds(10),
            v1.requests.get() + " calls reported over LRS");
        // one connection to the control server, as grpc-java's xDS client keeps: a second one for
        // load reports would be a TCP and HTTP/2 set-up more in every app's start
        assertThat(relay.connections()).isEqualTo(1);
      }
    }
  }

  /** A TCP relay to a target that counts the connections it was asked for. */
  private static final class CountingRelay implements AutoCloseable {
    private final java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
    private final List<java.net.Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

    CountingRelay(String target) throws java.io.IOException {
      String host = target.substring(0, target.lastIndexOf(':'));
      int port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
      daemon(() -> {
        while (!server.isClosed()) {
          try {
            java.net.Socket in = server.accept();
            connections.incrementAndGet();
            java.net.Socket out = new java.net.Socket(host, port);
            sockets.add(in);
            sockets.add(out);
            pump(in, out);
            pump(out, in);
          } catch (java.io.IOException e) {
            return;
          }
        }
      });
    }

    private static void pump(java.net.Socket from, java.net.Socket to) {
      daemon(() -> {
        try {
          from.getInputStream().transferTo(to.getOutputStream());
        } catch (java.io.IOException e) {
          // closed
        }
      });
    }

    private static void daemon(Runnable task) {
      Thread thread = new Thread(task, "counting-relay");
      thread.setDaemon(true);
      thread.start();
    }

    String address() {
      return "127.0.0.1:" + server.getLocalPort();
    }

    int connections() {
      return connections.get();
    }

    @Override
    public void close() throws java.io.IOException {
      server.close();
      for (java.net.Socket socket : sockets) {
        socket.close();
      }
    }
  }

  private static long total(HttpMesh mesh, String cluster) {
    List<LoadReports.Edge> edges = mesh.control.xds().loadReports().edges();
    return edges.stream().filter(e -> e.cluster().equals(cluster)).mapToLong(e -> e.succeeded() + e.failed()).sum();
  }
}
