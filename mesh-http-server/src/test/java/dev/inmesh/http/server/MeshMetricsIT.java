package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class MeshMetricsIT {
  @Test
  void oneLineServesTheMeshsMetersInPrometheusText() throws Exception {
    CompositeMeterRegistry registry = new CompositeMeterRegistry();
    // no control server answers here: the Mesh keeps trying, and its meters still show
    try (Mesh mesh = Mesh.builder().controlServers("127.0.0.1:1").meterRegistry(registry).build();
        MeshMetrics metrics = MeshMetrics.serve(mesh, 0)) {
      registry.counter("istio.requests", "reporter", "source", "response_code", "200").increment(3);

      HttpResponse<String> scrape = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metrics.port() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
      assertThat(scrape.body()).contains("istio_requests_total{reporter=\"source\",response_code=\"200\"} 3.0");
    }
  }
}
