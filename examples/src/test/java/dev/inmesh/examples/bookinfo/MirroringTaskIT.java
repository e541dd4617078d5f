package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.IstioSamples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Istio's "Mirroring" task, step by step on the demo, with Istio's own unmodified documents
 * ({@code istio-io-tasks/traffic-mirroring.yaml} in {@code shared/istio-samples} beside the
 * repository; skipped when that is absent), applied in the doc's order: the default route (every
 * request to httpbin v1, with the DestinationRule's v1 and v2 subsets), then the same route
 * mirroring 100 % to v2. A client in the mesh (the task's {@code curl} pod) calls
 * {@code http://httpbin:8000/headers}, and the two versions' access logs show what the task's
 * {@code kubectl logs} shows: first entries for v1 and none for v2; then v1 answers and v2 gets a
 * copy of every request, its Host ending in {@code -shadow} before the port, as Envoy writes it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MirroringTaskIT {
  private static final String TASK = "istio-io-tasks/traffic-mirroring.yaml";
  private static final String URL = "http://httpbin:8000/headers";
  private static final int CALLS = 10;

  private List<String> documents;
  private Bookinfo bookinfo;
  private Mesh curl;
  private OkHttpClient client;

  @BeforeAll
  void startTheDemoAndACallerInTheMesh() throws IOException {
    Optional<Path> task = IstioSamples.file(TASK);
    Assumptions.assumeTrue(task.isPresent(), "shared/istio-samples/" + TASK + " not found beside the repository");
    documents = List.of(Files.readString(task.get()).split("(?m)^---\\s*$"));
    assertThat(documents).hasSize(3);
    bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral());
    CertificateAuthority ca = bookinfo.control().ca().orElseThrow();
    curl = Mesh.builder()
        .controlServers("127.0.0.1:" + bookinfo.control().xdsPort())
        .namespace("default").serviceAccount("curl")
        .certificateAuthority("127.0.0.1:" + bookinfo.control().caGrpcPort(), ca.trustBundle().toPem(),
            ca.joinTokens().create("default", "curl", Duration.ofHours(1)).value())
        .readyTimeout(Bookinfo.WAIT)
        .build();
    client = MeshHttp.client(curl);
  }

  @AfterAll
  void stop() {
    if (curl != null) {
      curl.close();
    }
    if (bookinfo != null) {
      bookinfo.close();
    }
  }

  @Test
  @Order(1)
  void theDefaultRouteSendsEveryRequestToV1AndNoneToV2() throws IOException {
    // snip_creating_a_default_routing_policy_1: the VirtualService and the DestinationRule, in one apply
    apply("default-routing-policy", documents.get(0) + "\n---\n" + documents.get(1));

    int v1Before = headersCalls("v1").size();
    int v2Before = headersCalls("v2").size();
    for (int i = 0; i < CALLS; i++) {
      assertThat(call()).contains("\"Host\":\"httpbin:8000\"");
    }

    Await.until(() -> headersCalls("v1").size() - v1Before == CALLS, Bookinfo.WAIT, "v1 to log every call",
        () -> bookinfo.httpbin("v1").log().toString());
    // a mirror would arrive after the answer; give one the time to show before saying there is none
    Await.sleep(Duration.ofSeconds(1));
    assertThat(headersCalls("v2")).as("v2's log").hasSize(v2Before);
    assertThat(headersCalls("v1").subList(v1Before, v1Before + CALLS))
        .allSatisfy(logged -> assertThat(logged.host()).isEqualTo("httpbin:8000"));
  }

  @Test
  @Order(2)
  void mirroringSendsACopyOfEveryRequestToV2WithAShadowHost() throws IOException {
    // snip_mirroring_traffic_to_v2_1: the route mirroring 100 % to v2, written with the deprecated mirrorPercent
    ApplyResult applied = apply("mirroring-traffic-to-v2", documents.get(2));
    assertThat(applied.warnings()).extracting(Problem::field).contains("spec.http[0].mirrorPercent");

    int v1Before = headersCalls("v1").size();
    int v2Before = headersCalls("v2").size();
    for (int i = 0; i < CALLS; i++) {
      // v1 answers: the caller sees its own Host, never the shadow's
      assertThat(call()).contains("\"Host\":\"httpbin:8000\"");
    }

    Await.until(() -> headersCalls("v1").size() - v1Before == CALLS && headersCalls("v2").size() - v2Before == CALLS,
        Bookinfo.WAIT, "v1 and v2 to log every call",
        () -> "v1 " + bookinfo.httpbin("v1").log() + ", v2 " + bookinfo.httpbin("v2").log());
    assertThat(headersCalls("v1").subList(v1Before, v1Before + CALLS))
        .allSatisfy(logged -> assertThat(logged.host()).isEqualTo("httpbin:8000"));
    // Istio's page: "the requests are sent to the mirrored service with their Host/Authority headers appended with -shadow"
    assertThat(headersCalls("v2").subList(v2Before, v2Before + CALLS)).allSatisfy(logged -> {
      assertThat(logged.host()).isEqualTo("httpbin-shadow:8000");
      assertThat(logged.status()).isEqualTo(200);
    });
  }

  private ApplyResult apply(String snippet, String yaml) {
    ApplyResult result = bookinfo.control().apply("traffic-mirroring.yaml#" + snippet, yaml);
    assertThat(result.errors()).as("errors applying %s", snippet).extracting(Problem::toString).isEmpty();
    bookinfo.awaitConverged();
    return result;
  }

  /** {@code kubectl exec curl -- curl -sS http://httpbin:8000/headers}: the body of a 200. */
  private String call() throws IOException {
    try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
      assertThat(response.code()).isEqualTo(200);
      return response.body().string().replace(" ", "");
    }
  }

  /** The {@code GET /headers} lines of one version's access log. */
  private List<Httpbin.Logged> headersCalls(String version) {
    return bookinfo.httpbin(version).log().stream().filter(logged -> logged.path().equals("/headers")).toList();
  }
}
