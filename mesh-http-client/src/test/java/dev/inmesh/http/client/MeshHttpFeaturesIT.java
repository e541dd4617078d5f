package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.tracing.TraceContext;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Header changes, redirects, direct responses, mirroring, ring-hash affinity and connection limits. */
class MeshHttpFeaturesIT {
  private static final String URL = "http://reviews:9080/reviews/1";

  @TempDir
  Path configDir;
  HttpMesh mesh;
  HttpBackend v1;
  HttpBackend v2;
  OkHttpClient client;

  @BeforeEach
  void start() throws Exception {
    mesh = new HttpMesh(configDir);
    v1 = mesh.backend("v1");
    v2 = mesh.backend("v2");
    mesh.awaitWorkloads(2);
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE);
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
  }

  private Response call(Request request) throws Exception {
    return client.newCall(request).execute();
  }

  @Test
  void routeHeaderChangesReachTheBackendAndTheCaller() throws Exception {
    java.util.concurrent.BlockingQueue<RecordedRequest> seen = new java.util.concurrent.LinkedBlockingQueue<>();
    v1.behave(request -> {
      seen.add(request);
      return new MockResponse.Builder().code(200).body("v1 x").addHeader("x-internal", "secret").build();
    });
    route("""
        - headers:
            request:
              set: {x-team: reviews}
              remove: [x-debug]
            response:
              add: {x-served-by: mesh}
              remove: [x-internal]
          route:
          - destination: {host: reviews, subset: v1}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    seen.clear();

    try (Response response = call(new Request.Builder().url(URL).header("x-debug", "1").header("x-team", "other").build())) {
      assertThat(response.header("x-served-by")).isEqualTo("mesh");
      assertThat(response.header("x-internal")).isNull();
    }
    RecordedRequest recorded = seen.poll(5, TimeUnit.SECONDS);
    assertThat(recorded.getHeaders().get("x-team")).isEqualTo("reviews");
    assertThat(recorded.getHeaders().get("x-debug")).isNull();
    assertThat(recorded.getHeaders().get("Host")).isEqualTo("reviews:9080");
  }

  @Test
  void theMeshSendsTraceContextAndItsMetadataOnceEachAndKeepsTheCallersTraceparent() throws Exception {
    java.util.concurrent.BlockingQueue<RecordedRequest> seen = new java.util.concurrent.LinkedBlockingQueue<>();
    v1.behave(request -> {
      seen.add(request);
      return new MockResponse.Builder().code(200).body("v1 x").build();
    });
    route("""
        - route:
          - destination: {host: reviews, subset: v1}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    seen.clear();

    // a stale metadata id from the caller is replaced, not sent beside the mesh's
    try (Response response = call(new Request.Builder().url(URL).header(PeerMetadata.ID_HEADER, "stale").build())) {
      assertThat(response.code()).isEqualTo(200);
    }
    okhttp3.Headers sent = seen.poll(5, TimeUnit.SECONDS).getHeaders();
    assertThat(sent.values(TraceContext.TRACEPARENT)).singleElement().asString().matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
    assertThat(sent.values(PeerMetadata.HEADER)).singleElement()
        .satisfies(value -> assertThat(PeerMetadata.decode(value)).hasValueSatisfying(
            peer -> assertThat(peer.namespace()).isEqualTo("default")));
    assertThat(sent.values(PeerMetadata.ID_HEADER)).singleElement().asString().startsWith("sidecar~").doesNotContain("stale");

    String callers = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    try (Response response = call(new Request.Builder().url(URL).header(TraceContext.TRACEPARENT, callers).build())) {
      assertThat(response.code()).isEqualTo(200);
    }
    assertThat(seen.poll(5, TimeUnit.SECONDS).getHeaders().values(TraceContext.TRACEPARENT)).containsExactly(callers);
  }

  @Test
  void anOutboundCallCarriesB3WithTheServedTraceANewSpanAndTheTracestateUnchanged() throws Exception {
    java.util.concurrent.BlockingQueue<RecordedRequest> seen = new java.util.concurrent.LinkedBlockingQueue<>();
    v1.behave(request -> {
      seen.add(request);
      return new MockResponse.Builder().code(200).body("v1 x").build();
    });
    route("""
        - route:
          - destination: {host: reviews, subset: v1}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    seen.clear();

    // the request this thread serves, as the door attaches it: W3C with a vendor's tracestate
    TraceContext served = TraceContext.fromHeaders(Map.of(
        "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")::get).orElseThrow();
    try (TraceContext.Scope scope = TraceContext.attach(served); Response response = call(new Request.Builder().url(URL).build())) {
      assertThat(response.code()).isEqualTo(200);
    }
    okhttp3.Headers sent = seen.poll(5, TimeUnit.SECONDS).getHeaders();
    assertThat(sent.values("x-b3-traceid")).containsExactly("0af7651916cd43dd8448eb211c80319c");
    String span = sent.get("x-b3-spanid");
    assertThat(span).matches("[0-9a-f]{16}").isNotEqualTo("b7ad6b7169203331");
    assertThat(sent.values("x-b3-parentspanid")).containsExactly("b7ad6b7169203331");
    assertThat(sent.values("x-b3-sampled")).containsExactly("1");
    assertThat(sent.values(TraceContext.TRACEPARENT)).containsExactly("00-0af7651916cd43dd8448eb211c80319c-" + span + "-01");
    assertThat(sent.values(TraceContext.TRACESTATE)).containsExactly("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");

    // B3 headers the app passed on from its own request (as Bookinfo's apps do) are the parent of the mesh's span
    try (Response response = call(new Request.Builder().url(URL).header("x-b3-traceid", "a3ce929d0e0e4736")
        .header("x-b3-spanid", "00f067aa0ba902b7").header("x-b3-sampled", "1").build())) {
      assertThat(response.code()).isEqualTo(200);
    }
    sent = seen.poll(5, TimeUnit.SECONDS).getHeaders();
    assertThat(sent.values("x-b3-traceid")).containsExactly("a3ce929d0e0e4736");
    assertThat(sent.values("x-b3-parentspanid")).containsExactly("00f067aa0ba902b7");
    assertThat(sent.values("x-b3-spanid")).singleElement().asString().isNotEqualTo("00f067aa0ba902b7");
    assertThat(sent.get(TraceContext.TRACEPARENT)).startsWith("00-0000000000000000a3ce929d0e0e4736-");
  }

  @Test
  void redirectsAndDirectResponsesAreAnsweredWithoutABackend() throws Exception {
    route("""
        - match:
          - uri: {prefix: /old}
          redirect:
            uri: /new
            redirectCode: 302
        - match:
          - uri: {exact: /health}
          directResponse:
            status: 503
            body:
              string: maintenance
        - route:
          - destination: {host: reviews, subset: v1}
        """);
    HttpMesh.await(() -> HttpMesh.get(client, "http://reviews:9080/health", Map.of()).equals("503"), Duration.ofSeconds(10), "the route");
    int before = v1.requests.get() + v2.requests.get();

    OkHttpClient noFollow = client.newBuilder().followRedirects(false).build();
    try (Response response = noFollow.newCall(new Request.Builder().url("http://reviews:9080/old/page").build()).execute()) {
      assertThat(response.code()).isEqualTo(302);
      assertThat(response.header("location")).isEqualTo("http://reviews:9080/new");
    }
    try (Response response = call(new Request.Builder().url("http://reviews:9080/health").build())) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).isEqualTo("maintenance");
    }
    assertThat(v1.requests.get() + v2.requests.get()).isEqualTo(before);
  }

  @Test
  void aMirrorGetsACopyWhoseOutcomeNeverReachesTheCaller() throws Exception {
    v2.behave(request -> new MockResponse.Builder().code(500).body("mirror broke").headersDelay(1, TimeUnit.SECONDS).build());
    route("""
        - route:
          - destination: {host: reviews, subset: v1}
          mirror: {host: reviews, subset: v2}
          mirrorPercentage: {value: 100}
        """);
    HttpMesh.await(() -> HttpMesh.get(client, URL, Map.of()).equals("v1") && v2.requests.get() > 0, Duration.ofSeconds(10),
        "the mirror to get traffic");
    int mirrored = v2.requests.get();

    for (int i = 0; i < 20; i++) {
      long started = System.nanoTime();
      assertThat(HttpMesh.get(client, URL, Map.of())).isEqualTo("v1");
      assertThat((System.nanoTime() - started) / 1_000_000).as("the slow mirror does not delay the caller").isLessThan(900);
    }
    HttpMesh.await(() -> v2.requests.get() >= mirrored + 20, Duration.ofSeconds(10), "every call to be mirrored");
  }

  @Test
  void aSlowMirrorCostsDroppedCopiesNeverThreadsAndEveryCopyIsSentOrCounted() throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    OkHttpClient mirroring = MeshHttp.client(mesh.client(meters));
    v2.behave(request -> new MockResponse.Builder().code(200).body("v2").headersDelay(500, TimeUnit.MILLISECONDS).build());
    route("""
        - route:
          - destination: {host: reviews, subset: v1}
          mirror: {host: reviews, subset: v2}
          mirrorPercentage: {value: 100}
        """);
    HttpMesh.await(() -> HttpMesh.get(mirroring, URL, Map.of()).equals("v1") && mirrors(meters, "sent") > 0,
        Duration.ofSeconds(10), "the mirror to get traffic");
    HttpMesh.await(() -> v2.requests.get() == (int) mirrors(meters, "sent"), Duration.ofSeconds(10), "the first copies");
    double sentBefore = mirrors(meters, "sent");
    double droppedBefore = mirrors(meters, "dropped");
    int receivedBefore = v2.requests.get();
    AtomicInteger mostThreads = new AtomicInteger();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleAtFixedRate(() -> mostThreads.accumulateAndGet((int) Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("inmesh-mirror") && t.isAlive()).count(), Math::max), 0, 5, TimeUnit.MILLISECONDS);
    int calls = 200;
    try {
      for (int i = 0; i < calls; i++) {
        assertThat(HttpMesh.get(mirroring, URL, Map.of())).isEqualTo("v1");
      }
    } finally {
      sampler.shutdownNow();
    }

    double sent = mirrors(meters, "sent") - sentBefore;
    double dropped = mirrors(meters, "dropped") - droppedBefore;
    System.out.printf("%d calls mirrored to a backend answering in 500 ms: %.0f copies sent, %.0f dropped, at most %d"
        + " mirror threads%n", calls, sent, dropped, mostThreads.get());
    assertThat(sent + dropped).as("every copy is sent or counted as dropped").isEqualTo(calls);
    assertThat(dropped).isPositive();
    assertThat(mostThreads.get()).isBetween(1, dev.inmesh.internal.outbound.OutboundPipeline.MIRROR_THREADS);
    HttpMesh.await(() -> v2.requests.get() - receivedBefore == (int) sent, Duration.ofSeconds(30),
        "every copy sent to reach the mirror (" + sent + ")");
  }

  private static double mirrors(SimpleMeterRegistry meters, String result) {
    return meters.find("inmesh.mirror.requests").tag("result", result).counters().stream().mapToDouble(c -> c.count()).sum();
  }

  @Test
  void ringHashOnAHeaderKeepsEachUserOnOneEndpoint() {
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE.replace("  host: reviews\n",
        "  host: reviews\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        httpHeaderName: x-user\n"));
    route("""
        - route:
          - destination: {host: reviews}
        """);
    HttpMesh.await(() -> HttpMesh.split(client, URL, 40, Map.of()).size() == 2, Duration.ofSeconds(10), "both backends");

    Set<String> usedVersions = new HashSet<>();
    for (int user = 0; user < 20; user++) {
      Map<String, Integer> answers = HttpMesh.split(client, URL, 10, Map.of("x-user", "user-" + user));
      assertThat(answers).as("user-%d sticks to one endpoint", user).hasSize(1);
      usedVersions.addAll(answers.keySet());
    }
    assertThat(usedVersions).as("the users spread over both endpoints").containsOnly("v1", "v2");
  }

  @Test
  void connectionPoolLimitsRejectFastWithTheLimitNamed() throws Exception {
    v1.behave(request -> new MockResponse.Builder().code(200).body("v1 slow").headersDelay(1500, TimeUnit.MILLISECONDS).build());
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE.replace("  host: reviews\n",
        "  host: reviews\n  trafficPolicy:\n    connectionPool:\n      http:\n        http2MaxRequests: 1\n        http1MaxPendingRequests: 0\n"));
    route("""
        - route:
          - destination: {host: reviews, subset: v1}
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());

    CompletableFuture<String> slow = CompletableFuture.supplyAsync(() -> HttpMesh.get(client, URL, Map.of()));
    HttpMesh.sleep(Duration.ofMillis(300));
    long started = System.nanoTime();
    try (Response rejected = call(new Request.Builder().url(URL).build())) {
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertThat(rejected.code()).isEqualTo(503);
      assertThat(rejected.header("x-inmesh-flags")).isEqualTo("UO");
      assertThat(rejected.body().string()).contains("upstream overflow", "outbound|9080|v1|reviews.default.svc.cluster.local", "max requests 1");
      assertThat(millis).isLessThan(500);
    }
    assertThat(slow.get(10, TimeUnit.SECONDS)).isEqualTo("v1");
  }

  @Test
  void aClientFailsOverToTheNextControlServerAndTakesItsConfig() throws Exception {
    route("""
        - route:
          - destination: {host: reviews, subset: v2}
        """);
    Path otherDir = java.nio.file.Files.createDirectories(configDir.resolve("second"));
    try (HttpMesh second = new HttpMesh(otherDir)) {
      second.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE);
      second.write("reviews-vs.yaml", """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata:
            name: reviews
          spec:
            hosts: [reviews]
            http:
            - route:
              - destination: {host: reviews, subset: v1}
          """);
      second.backend("v1");
      second.backend("v2");
      second.awaitWorkloads(2);
      // two meshes with a CA each: a client without a certificate reads both through their read-only ports
      try (Mesh failover = Mesh.builder().controlServers(mesh.access().readOnlyAddress(), second.access().readOnlyAddress())
          .build()) {
        OkHttpClient http = MeshHttp.client(failover);
        HttpMesh.awaitAnswer(http, URL, "v2", Map.of());

        mesh.control.close();

        HttpMesh.await(() -> HttpMesh.get(http, URL, Map.of()).equals("v1"), Duration.ofSeconds(20), "config from the second server");
        assertThat(HttpMesh.split(http, URL, 20, Map.of())).containsOnly(Map.entry("v1", 20));
      }
    } finally {
      mesh.startControl(0);
    }
  }
}
