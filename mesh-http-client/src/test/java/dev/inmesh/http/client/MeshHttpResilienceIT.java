package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retries, timeouts, faults and outlier detection, against real backends. */
class MeshHttpResilienceIT {
  private static final String URL = "http://reviews:9080/reviews/1";
  private static final MockResponse UNAVAILABLE = new MockResponse.Builder().code(503).body("down").build();

  @TempDir
  Path configDir;
  HttpMesh mesh;
  HttpBackend bad;
  HttpBackend good;
  OkHttpClient client;

  @BeforeEach
  void start() throws Exception {
    mesh = new HttpMesh(configDir);
    bad = mesh.backend("v1");
    good = mesh.backend("v1");
    mesh.awaitWorkloads(2);
    client = MeshHttp.client(mesh.client());
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  private void route(String http) {
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
        """ + http.indent(2));
    // the first call after a change may still see the old route; wait for the new one to answer
    HttpMesh.sleep(Duration.ofMillis(300));
  }

  @Test
  void aBackendAnswering503IsRetriedOnAnotherEndpointAndTheCallSucceeds() throws Exception {
    route("""
        - retries:
            attempts: 2
            retryOn: 5xx
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    bad.behave(request -> UNAVAILABLE);

    for (int i = 0; i < 100; i++) {
      try (Response response = client.newCall(new Request.Builder().url(URL).header("x-inmesh-explain", "1").build()).execute()) {
        assertThat(response.code()).isEqualTo(200);
        String attempts = response.header("x-inmesh-explain").replaceAll(".*attempts=([^;]*);.*", "$1");
        if (attempts.contains(",")) {
          assertThat(attempts).isEqualTo("127.0.0.1:" + bad.port() + "=503,127.0.0.1:" + good.port() + "=200");
        }
      }
    }
    assertThat(bad.requests.get()).isPositive();
  }

  @Test
  void aPostIsNotRetriedByDefault() throws Exception {
    route("""
        - retries:
            attempts: 3
            retryOn: 5xx
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    bad.behave(request -> UNAVAILABLE);
    int before = bad.requests.get() + good.requests.get();

    int failed = 0;
    for (int i = 0; i < 50; i++) {
      Request post = new Request.Builder().url(URL).post(RequestBody.create("{}", MediaType.get("application/json"))).build();
      try (Response response = client.newCall(post).execute()) {
        failed += response.code() == 503 ? 1 : 0;
      }
    }

    assertThat(failed).isPositive();
    assertThat(bad.requests.get() + good.requests.get() - before).as("one attempt per POST").isEqualTo(50);
  }

  @Test
  void thePerTryTimeoutFiresAndTheRetryGoesElsewhere() throws Exception {
    route("""
        - timeout: 5s
          retries:
            attempts: 1
            perTryTimeout: 300ms
            retryOn: 5xx
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    bad.behave(request -> new MockResponse.Builder().code(200).body("slow").headersDelay(3, TimeUnit.SECONDS).build());

    for (int i = 0; i < 6; i++) {
      long started = System.nanoTime();
      try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
        assertThat(response.body().string()).startsWith("v1 ");
      }
      assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(2_000);
    }

    good.kill();
    long started = System.nanoTime();
    try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
      assertThat(response.code()).isIn(503, 504);
    }
    assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(2_500);
  }

  @Test
  void theRetryBudgetStopsARetryStormWhenEveryBackendFails() throws Exception {
    // Istio sends no limit on retries unless a DestinationRule sets one; this one sets Envoy's budget
    mesh.write("reviews-dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            retryBudget:
              percent: 20
              minRetryConcurrency: 3
        """);
    route("""
        - retries:
            attempts: 10
            retryOn: 5xx
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    bad.behave(request -> UNAVAILABLE);
    good.behave(request -> UNAVAILABLE);
    int before = bad.requests.get() + good.requests.get();

    int calls = 400;
    ExecutorService callers = Executors.newFixedThreadPool(20);
    AtomicInteger served = new AtomicInteger();
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      done.add(callers.submit(() -> {
        try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
          if (response.code() > 0) {
            served.incrementAndGet();
          }
        }
        return null;
      }));
    }
    for (Future<?> future : done) {
      future.get(60, TimeUnit.SECONDS);
    }
    callers.shutdown();

    int attempts = bad.requests.get() + good.requests.get() - before;
    assertThat(served.get()).isEqualTo(calls);
    // without a budget: 11 attempts a call; the budget (20% of active, at least 3) holds it near 1
    assertThat(attempts).isGreaterThan(calls).isLessThan(calls * 2);
  }

  @Test
  void anAbortAtFiftyPercentHoldsWithinFivePoints() {
    route("""
        - fault:
            abort:
              httpStatus: 503
              percentage: {value: 50}
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.await(() -> HttpMesh.split(client, URL, 20, Map.of()).containsKey("503"), Duration.ofSeconds(10), "the fault");

    Map<String, Integer> counts = HttpMesh.split(client, URL, 2000, Map.of());

    assertThat(counts.keySet()).containsOnly("v1", "503");
    assertThat(counts.get("503") / 20.0).isBetween(45.0, 55.0);
  }

  @Test
  void aDelayFaultComposesWithRetries() throws Exception {
    route("""
        - fault:
            delay:
              fixedDelay: 300ms
              percentage: {value: 100}
          retries:
            attempts: 2
            retryOn: gateway-error
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.await(() -> timed(() -> HttpMesh.get(client, URL, Map.of())) >= 300, Duration.ofSeconds(10), "the delay");
    bad.behave(request -> UNAVAILABLE);

    for (int i = 0; i < 10; i++) {
      long millis = timed(() -> assertThat(HttpMesh.get(client, URL, Map.of())).isEqualTo("v1"));
      assertThat(millis).isGreaterThanOrEqualTo(300);
    }
    assertThat(bad.requests.get()).isPositive();
  }

  @Test
  void outlierDetectionEjectsAFailingBackendAndBringsItBackAfterTheEjectionTime() throws Exception {
    mesh.write("reviews-dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            outlierDetection:
              consecutive5xxErrors: 3
              interval: 1s
              baseEjectionTime: 2s
              maxEjectionPercent: 100
        """);
    route("""
        - retries:
            attempts: 0
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    bad.behave(request -> UNAVAILABLE);

    HttpMesh.await(() -> HttpMesh.split(client, URL, 10, Map.of()).getOrDefault("503", 0) == 0, Duration.ofSeconds(5),
        "the failing backend to be ejected");
    int whileEjected = bad.requests.get();
    assertThat(HttpMesh.split(client, URL, 100, Map.of())).containsOnly(Map.entry("v1", 100));
    assertThat(bad.requests.get()).isEqualTo(whileEjected);

    bad.behave(request -> new MockResponse.Builder().code(200).body("v1 back").build());
    HttpMesh.sleep(Duration.ofMillis(2_200));
    HttpMesh.split(client, URL, 20, Map.of());
    assertThat(bad.requests.get()).isGreaterThan(whileEjected);
  }

  @Test
  void withOneOfThreeBackendsKilledUnderSteadyLoadNoCallFails() throws Exception {
    HttpBackend third = mesh.backend("v1");
    mesh.awaitWorkloads(3);
    bad.behave(request -> new MockResponse.Builder().code(200).body("v1 a").build());
    mesh.write("reviews-dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            outlierDetection:
              consecutiveGatewayErrors: 1
              interval: 1s
              baseEjectionTime: 30s
        """);
    route("""
        - retries:
            attempts: 2
            retryOn: connect-failure,reset,gateway-error
          route:
          - destination: {host: reviews}
        """);
    HttpMesh.await(() -> HttpMesh.split(client, URL, 30, Map.of()).equals(Map.of("v1", 30)) && third.requests.get() > 0,
        Duration.ofSeconds(10), "all three backends to serve");

    ExecutorService load = Executors.newFixedThreadPool(4);
    List<Future<Map<String, Integer>>> results = new ArrayList<>();
    for (int worker = 0; worker < 4; worker++) {
      results.add(load.submit(() -> HttpMesh.split(client, URL, 300, Map.of())));
    }
    HttpMesh.sleep(Duration.ofMillis(200));
    third.kill();
    Map<String, Integer> outcomes = new java.util.TreeMap<>();
    for (Future<Map<String, Integer>> result : results) {
      result.get(60, TimeUnit.SECONDS).forEach((k, v) -> outcomes.merge(k, v, Integer::sum));
    }
    load.shutdown();

    // a response whose headers had already arrived when its backend died is cut short, as behind
    // Envoy: no proxy can retry it then (OkHttp: "unexpected end of stream", without "on <url>",
    // which it says when the headers never came). At most one per caller; every other call succeeds
    String cutShort = "IOException: unexpected end of stream";
    int cut = outcomes.getOrDefault(cutShort, 0);
    assertThat(cut).as("calls cut after their headers, in %s", outcomes).isLessThanOrEqualTo(4);
    Map<String, Integer> expected = new java.util.TreeMap<>(Map.of("v1", 1200 - cut));
    if (cut > 0) {
      expected.put(cutShort, cut);
    }
    assertThat(outcomes).isEqualTo(expected);
  }

  private static long timed(Runnable call) {
    long started = System.nanoTime();
    call.run();
    return (System.nanoTime() - started) / 1_000_000;
  }
}
