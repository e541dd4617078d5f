package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mesh-control's dashboard in headless Chromium while traffic runs: the service graph shows the
 * client and reviews with the edge between them, the clients table lists the client, and a
 * screenshot is kept as a build artifact ({@code target/dashboard.png}). {@code .ci/run} installs
 * Debian's chromium.
 */
class DashboardIT {
  @TempDir
  Path configDir;

  @Test
  void theDashboardShowsTheServiceGraphWhileTrafficRunsToASignedInOperator() throws Exception {
    var found = dev.inmesh.testing.Chromium.find();
    Assumptions.assumeTrue(found.isPresent(), "no Chromium on this machine; .ci/run installs Debian's chromium");
    dev.inmesh.testing.Chromium chromium = found.get();
    try (HttpMesh mesh = new HttpMesh(configDir)) {
      mesh.backend("v1");
      mesh.backend("v2");
      mesh.awaitWorkloads(2);
      mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE);
      Mesh client = mesh.client();
      OkHttpClient http = MeshHttp.client(client);
      AtomicBoolean running = new AtomicBoolean(true);
      Thread traffic = new Thread(() -> {
        while (running.get()) {
          HttpMesh.get(http, "http://reviews:9080/reviews/1", Map.of());
          HttpMesh.sleep(Duration.ofMillis(20));
        }
      }, "traffic");
      traffic.start();
      try {
        HttpMesh.await(() -> !mesh.control.xds().loadReports().edges().isEmpty(), Duration.ofSeconds(15),
            "a load report to reach mesh-control");
        String page = "http://127.0.0.1:" + mesh.control.httpPort() + "/dashboard";
        String anonymous = chromium.dumpDom(page, 1280, 900);
        assertThat(anonymous).as("without a credential the page asks for one and shows nothing of the mesh")
            .contains("sign in to see the mesh").doesNotContain("data-id=\"reviews.default\"").doesNotContain("client~");

        // the token travels in the fragment, which the browser never sends to the server
        String url = page + "#token=" + mesh.control.adminCredential().orElseThrow().token();
        String dom = chromium.dumpDom(url, 1280, 900);
        assertThat(dom).contains("data-id=\"reviews.default\"").contains("(v1, v2)")
            .contains("data-from=\"client\" data-to=\"reviews.default\"")
            .contains("rps,").contains("ms, p99 ")
            .contains("client~")
            .contains("DestinationRule default/reviews");

        Path screenshot = Path.of("target", "dashboard.png").toAbsolutePath();
        Files.deleteIfExists(screenshot);
        chromium.screenshot(url, screenshot, 1280, 1500);
        assertThat(screenshot).exists();
        assertThat(Files.size(screenshot)).as("a screenshot with something on it").isGreaterThan(10_000);
      } finally {
        running.set(false);
        traffic.join();
      }
    }
  }
}
