package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.testing.IstioSamples;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Istio's "Circuit Breaking" task, step by step on the demo: its DestinationRule for httpbin,
 * unmodified from {@code shared/istio-samples/istio-io-tasks/traffic-circuit-breaking.yaml}, then
 * a client in the mesh (the task's fortio) calling {@code http://httpbin:8000/get} with one, two
 * and three concurrent callers. As the task's page shows: one caller gets every answer, more
 * callers trip the breaker, and the breaker's refusals are 503s counted as pending-request
 * overflows ({@code upstream_rq_pending_overflow}) with the {@code UO} flag.
 */
class CircuitBreakingTaskIT {
  private static final String TASK = "istio-io-tasks/traffic-circuit-breaking.yaml";
  private static final String URL = "http://httpbin:8000/get";
  private static final String CLUSTER = "outbound|8000||httpbin.default.svc.cluster.local";
  private static final int CALLS_PER_CALLER = 20;

  private static Bookinfo bookinfo;
  private static Mesh fortio;
  private static OkHttpClient client;
  private static final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeAll
  static void startTheDemoAndACallerInTheMesh() throws Exception {
    Optional<Path> task = IstioSamples.file(TASK);
    Assumptions.assumeTrue(task.isPresent(), "shared/istio-samples/" + TASK + " not found beside the repository");
    bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral());
    CertificateAuthority ca = bookinfo.control().ca().orElseThrow();
    fortio = Mesh.builder()
        .controlServers("127.0.0.1:" + bookinfo.control().xdsPort())
        .namespace("default").serviceAccount("fortio")
        .certificateAuthority("127.0.0.1:" + bookinfo.control().caGrpcPort(), ca.trustBundle().toPem(),
            ca.joinTokens().create("default", "fortio", Duration.ofHours(1)).value())
        .meterRegistry(registry)
        .readyTimeout(Bookinfo.WAIT)
        .build();
    client = MeshHttp.client(fortio);

    ApplyResult applied = bookinfo.control().apply(TASK, Files.readString(task.get(), StandardCharsets.UTF_8));
    assertThat(applied.errors()).isEmpty();
    // the fields a proxyless gRPC client would not honour are named; httpbin's clients are HTTP
    assertThat(applied.warnings()).extracting(p -> p.field())
        .contains("spec.trafficPolicy.connectionPool.tcp.maxConnections",
            "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
            "spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection");
    bookinfo.awaitConverged();
  }

  @AfterAll
  static void stop() {
    if (fortio != null) {
      fortio.close();
    }
    if (bookinfo != null) {
      bookinfo.close();
    }
  }

  @Test
  void oneCallerGetsEveryAnswerTwoAlmostAllAndThreeTripTheBreaker() throws Exception {
    // "fortio curl -quiet http://httpbin:8000/get": the service answers
    try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
      assertThat(response.code()).isEqualTo(200);
      assertThat(response.body().string()).contains("\"url\"", "\"headers\"");
    }

    Map<String, Integer> one = load(1);
    assertThat(one).containsOnlyKeys("200");

    Map<String, Integer> two = load(2);
    assertThat(two.keySet()).isSubsetOf("200", "503 UO");
    // Istio's page: "almost all requests made it through"; how many depends on timing, there as here
    assertThat(two.getOrDefault("200", 0)).as("two callers: answered").isPositive();

    double overflowsBefore = overflows();
    double flaggedBefore = flagged();
    Map<String, Integer> three = load(3);
    assertThat(three.keySet()).isSubsetOf("200", "503 UO");
    int refused = three.getOrDefault("503 UO", 0);
    assertThat(refused).as("three callers: the breaker refuses").isPositive();
    assertThat(three.getOrDefault("200", 0)).isPositive();

    // "pilot-agent request GET stats | grep httpbin | grep pending": the overflows are counted
    assertThat(overflows() - overflowsBefore).isEqualTo(refused);
    assertThat(flagged() - flaggedBefore).isEqualTo(refused);
  }

  /** fortio load -c {@code callers} -qps 0: each caller calls back to back; the answers by status and flag. */
  private static Map<String, Integer> load(int callers) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      List<Future<List<String>>> done = new ArrayList<>();
      for (int c = 0; c < callers; c++) {
        done.add(pool.submit(() -> {
          List<String> answers = new ArrayList<>();
          for (int i = 0; i < CALLS_PER_CALLER; i++) {
            try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
              response.body().string();
              String flag = response.header("x-inmesh-flags");
              answers.add(response.code() + (flag == null ? "" : " " + flag));
            }
          }
          return answers;
        }));
      }
      Map<String, Integer> counts = new TreeMap<>();
      for (Future<List<String>> future : done) {
        future.get(2, TimeUnit.MINUTES).forEach(answer -> counts.merge(answer, 1, Integer::sum));
      }
      System.out.printf("fortio load -c %d -n %d: %s%n", callers, callers * CALLS_PER_CALLER, counts);
      return counts;
    } finally {
      pool.shutdownNow();
    }
  }

  private static double overflows() {
    Counter counter = registry.find("inmesh.circuit.overflows").tag("cluster", CLUSTER).tag("limit", "pending_requests").counter();
    return counter == null ? 0 : counter.count();
  }

  private static double flagged() {
    return registry.find(IstioMetrics.REQUESTS).tag("response_code", "503").tag("response_flags", "UO").counters().stream()
        .mapToDouble(Counter::count).sum();
  }
}
