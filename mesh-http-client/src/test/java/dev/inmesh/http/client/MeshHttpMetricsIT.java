package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client side of Istio's request metrics, read back from a Prometheus scrape after known traffic. */
class MeshHttpMetricsIT {
  @TempDir
  Path configDir;

  @Test
  void ahundredCallsWithTenFaultsGiveTheExpectedSeriesAndCounts() throws Exception {
    try (HttpMesh mesh = new HttpMesh(configDir)) {
      mesh.backend("v1");
      mesh.awaitWorkloads(1);
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      Mesh client = Mesh.builder().controlServers(mesh.access().readOnlyAddress()).namespace("default").serviceAccount("productpage")
          .meterRegistry(registry).build();
      mesh.closeables.add(client);
      mesh.write("reviews-vs.yaml", """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata:
            name: reviews
          spec:
            hosts: [reviews]
            http:
            - match:
              - headers:
                  fault: {exact: "yes"}
              fault:
                abort: {httpStatus: 503, percentage: {value: 100}}
              route:
              - destination: {host: reviews}
            - route:
              - destination: {host: reviews}
          """);
      OkHttpClient http = MeshHttp.client(client);

      for (int i = 0; i < 100; i++) {
        HttpMesh.get(http, "http://reviews:9080/reviews/" + i, i % 10 == 0 ? Map.of("fault", "yes") : Map.of());
      }
      HttpMesh.get(http, "http://example.invalid:9/", Map.of());

      List<String> series = registry.scrape().lines().filter(l -> l.startsWith("istio_requests_total{")).toList();
      assertThat(series).hasSize(2);
      assertThat(series).anySatisfy(line -> assertThat(line)
          .contains("reporter=\"source\"", "response_code=\"503\"", "response_flags=\"FI\"",
              "destination_service=\"reviews.default.svc.cluster.local\"", "destination_service_name=\"reviews\"",
              "destination_service_namespace=\"default\"", "source_workload_namespace=\"default\"",
              "request_protocol=\"http\"", "connection_security_policy=\"unknown\"")
          .endsWith(" 10.0"));
      assertThat(series).anySatisfy(line -> assertThat(line).contains("response_code=\"200\"", "response_flags=\"-\"")
          .endsWith(" 90.0"));
      assertThat(registry.scrape()).contains("istio_request_duration_milliseconds_bucket{")
          .contains("istio_request_bytes_count{", "istio_response_bytes_count{")
          .doesNotContain("example.invalid");
      // the 90 answers were "v1 /reviews/<n>": 9 of 13 bytes (n < 10) and 81 of 14; a GET sends no body
      assertThat(registry.get("istio.response.bytes").tag("response_code", "200").summary().totalAmount())
          .isEqualTo(9 * 13 + 81 * 14);
      assertThat(registry.get("istio.request.bytes").tag("response_code", "200").summary().totalAmount()).isZero();
    }
  }

  /**
   * A MESH_EXTERNAL ServiceEntry: called in plaintext although its endpoint's labels claim mesh mTLS
   * (Istio never auto-mTLSes an external service), told nothing of the caller's metadata, and
   * reported as Istio reports it: the entry's host and namespace, workload labels unknown.
   */
  @Test
  void aMeshExternalServiceIsCalledWithoutMtlsAndReportedWithTheEntrysHost() throws Exception {
    try (HttpMesh mesh = new HttpMesh(configDir); mockwebserver3.MockWebServer partner = new mockwebserver3.MockWebServer()) {
      partner.enqueue(new mockwebserver3.MockResponse.Builder().body("external").build());
      partner.start();
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      Mesh client = mesh.client(registry);
      mesh.write("partner.yaml", """
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata:
            name: partner
            namespace: egress
          spec:
            hosts: [api.partner.example]
            location: MESH_EXTERNAL
            ports:
            - {number: 80, name: http, protocol: HTTP, targetPort: %d}
            resolution: STATIC
            endpoints:
            - address: 127.0.0.1
              labels: {security.istio.io/tlsMode: istio}
          """.formatted(partner.getPort()));
      OkHttpClient http = MeshHttp.client(client);
      HttpMesh.await(() -> client.snapshot().cluster("outbound|80||api.partner.example").isPresent(), Duration.ofSeconds(10),
          "the client to hold the entry's cluster");

      HttpMesh.get(http, "http://api.partner.example/status", Map.of());

      mockwebserver3.RecordedRequest recorded = partner.takeRequest(5, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(recorded.getHandshake()).as("plaintext: no auto-mTLS to a MESH_EXTERNAL service").isNull();
      assertThat(recorded.getHeaders().get(dev.inmesh.internal.telemetry.PeerMetadata.HEADER)).isNull();
      List<String> series = registry.scrape().lines().filter(l -> l.startsWith("istio_requests_total{")).toList();
      assertThat(series).singleElement().satisfies(line -> assertThat(line)
          .contains("reporter=\"source\"", "response_code=\"200\"",
              "destination_service=\"api.partner.example\"", "destination_service_name=\"api.partner.example\"",
              "destination_service_namespace=\"egress\"", "destination_workload=\"unknown\"",
              "destination_workload_namespace=\"unknown\"", "destination_principal=\"unknown\"",
              "connection_security_policy=\"unknown\"")
          .endsWith(" 1.0"));
    }
  }
}
