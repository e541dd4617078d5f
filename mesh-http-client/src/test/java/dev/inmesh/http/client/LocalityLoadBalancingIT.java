package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import mockwebserver3.MockResponse;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Istio's locality load balancing tasks on an Inmesh HTTP client, with real mesh-control: the
 * client runs in region1/zone1, one {@code reviews} backend in its zone and one in region1/zone2.
 */
class LocalityLoadBalancingIT {
  private static final String URL = "http://reviews:9080/reviews/1";
  private static final Locality ZONE1 = new Locality("region1", "zone1", "");
  private static final Locality ZONE2 = new Locality("region1", "zone2", "");

  @TempDir
  Path configDir;
  HttpMesh mesh;
  HttpBackend local;
  HttpBackend otherZone;
  OkHttpClient client;

  @BeforeEach
  void start() throws Exception {
    mesh = new HttpMesh(configDir);
    local = mesh.backend("zone1", ZONE1);
    otherZone = mesh.backend("zone2", ZONE2);
    mesh.awaitWorkloads(2);
    client = MeshHttp.client(mesh.client(ZONE1));
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  void failsOverToTheOtherZoneWhenOutlierDetectionEjectsTheLocalOne() {
    mesh.write("reviews-dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            loadBalancer:
              simple: ROUND_ROBIN
              localityLbSetting:
                enabled: true
            outlierDetection:
              consecutive5xxErrors: 1
              interval: 1s
              baseEjectionTime: 1m
        """);
    noRetries();
    HttpMesh.awaitAnswer(client, URL, "zone1", Map.of());

    // while the local zone is up, it takes every call
    assertThat(HttpMesh.split(client, URL, 50, Map.of())).containsOnly(Map.entry("zone1", 50));
    int otherZoneBefore = otherZone.requests.get();
    assertThat(otherZoneBefore).isZero();

    local.behave(request -> new MockResponse.Builder().code(503).body("down").build());
    HttpMesh.await(() -> HttpMesh.get(client, URL, Map.of()).equals("zone2"), Duration.ofSeconds(10),
        "the local backend to be ejected and the other zone to answer");
    int localAfterEjection = local.requests.get();

    assertThat(HttpMesh.split(client, URL, 50, Map.of())).containsOnly(Map.entry("zone2", 50));
    assertThat(local.requests.get()).isEqualTo(localAfterEjection);
  }

  @Test
  void withoutOutlierDetectionBothZonesShareTheTrafficAsInIstio() {
    mesh.write("reviews-dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
                enabled: true
        """);
    noRetries();
    HttpMesh.awaitAnswer(client, URL, "zone2", Map.of());

    Map<String, Integer> split = HttpMesh.split(client, URL, 100, Map.of());

    assertThat(split.getOrDefault("zone1", 0)).isBetween(30, 70);
    assertThat(split.getOrDefault("zone2", 0)).isBetween(30, 70);
  }

  @Test
  void distributeSendsEightyPercentToTheLocalZoneAndTwentyToTheOther() {
    mesh.write("reviews-dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
                enabled: true
                distribute:
                - from: region1/zone1/*
                  to:
                    "region1/zone1/*": 80
                    "region1/zone2/*": 20
            outlierDetection:
              consecutive5xxErrors: 100
              interval: 1s
              baseEjectionTime: 1m
        """);
    noRetries();
    HttpMesh.awaitAnswer(client, URL, "zone2", Map.of());

    Map<String, Integer> split = HttpMesh.split(client, URL, 1_000, Map.of());

    // 1,000 draws at p = 0.2: the standard deviation is about 13 calls; 60 leaves room for any seed
    assertThat(split.keySet()).containsOnly("zone1", "zone2");
    assertThat(split.get("zone2")).isBetween(140, 260);
  }

  private void noRetries() {
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - retries:
              attempts: 0
            route:
            - destination: {host: reviews}
        """);
  }
}
