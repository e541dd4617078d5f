package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.WorkloadRegistration;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
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

/**
 * DestinationRule connection pool settings as Istio documents them, on Inmesh's OkHttp data plane:
 * {@code tcp.maxConnections} with {@code http1MaxPendingRequests}, {@code tcp.connectTimeout},
 * {@code http.idleTimeout}, {@code http.maxRequestsPerConnection} and {@code retryBudget}.
 */
class MeshHttpConnectionPoolIT {
  private static final String URL = "http://reviews:9080/reviews/1";

  @TempDir
  Path configDir;
  HttpMesh mesh;
  HttpBackend v1;
  SimpleMeterRegistry registry = new SimpleMeterRegistry();
  OkHttpClient client;
  ExecutorService callers = Executors.newFixedThreadPool(8);

  @BeforeEach
  void start() throws Exception {
    mesh = new HttpMesh(configDir);
    v1 = mesh.backend("v1");
    mesh.awaitWorkloads(1);
    mesh.write("reviews-vs.yaml", """
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
    client = MeshHttp.client(mesh.client(registry));
  }

  @AfterEach
  void stop() throws Exception {
    callers.shutdownNow();
    mesh.close();
  }

  private void destinationRule(String trafficPolicy) {
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE.replace("  host: reviews\n",
        "  host: reviews\n  trafficPolicy:\n" + trafficPolicy.indent(4)));
  }

  @Test
  void oneConnectionAndOnePendingRequestLeaveTheOtherCallersA503WithTheOverflowFlag() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger mostInFlight = new AtomicInteger();
    v1.behave(request -> {
      mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      HttpMesh.sleep(Duration.ofMillis(200));
      inFlight.decrementAndGet();
      return new MockResponse.Builder().code(200).body("v1 slow").build();
    });
    destinationRule("""
        connectionPool:
          tcp:
            maxConnections: 1
          http:
            http1MaxPendingRequests: 1
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());

    Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
    List<Future<?>> done = new ArrayList<>();
    for (int caller = 0; caller < 4; caller++) {
      done.add(callers.submit(() -> {
        for (int call = 0; call < 5; call++) {
          try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
            String flag = response.header("x-inmesh-flags", "-");
            String body = response.body().string();
            answers.computeIfAbsent(response.code() + " " + flag, k -> new AtomicInteger()).incrementAndGet();
            if (response.code() == 503) {
              assertThat(body).contains("upstream overflow", "max pending 1 waiting (max connections 1 in use)");
            }
          }
        }
        return null;
      }));
    }
    for (Future<?> future : done) {
      future.get(60, TimeUnit.SECONDS);
    }

    assertThat(answers.keySet()).containsOnly("200 -", "503 UO");
    int overflowed = answers.get("503 UO").get();
    assertThat(answers.get("200 -").get()).isPositive();
    assertThat(mostInFlight.get()).as("requests at the backend at once").isEqualTo(1);
    assertThat(registry.get("inmesh.circuit.overflows").tag("limit", "pending_requests").counter().count())
        .isEqualTo(overflowed);
    assertThat(registry.get(IstioMetrics.REQUESTS).tag("response_code", "503").tag("response_flags", "UO").counter().count())
        .isEqualTo(overflowed);
  }

  @Test
  void aConnectTimeoutEndsAConnectionAttemptThatNobodyAnswers() throws Exception {
    try (ServerSocket blackhole = new ServerSocket()) {
      blackhole.bind(new InetSocketAddress("127.0.0.1", 0), 1);
      List<Socket> queued = fillAcceptQueue(blackhole);
      var channel = mesh.access().channel(mesh.xdsAddress(), "default", "reviews");
      mesh.closeables.add(channel::close);
      WorkloadRegistration registration = WorkloadRegistration.start(List.of(channel.channel()),
          new WorkloadMetadata("reviews", "default", "reviews", "reviews-v9", Map.of("app", "reviews", "version", "v9"),
              "127.0.0.1", List.of(new ServicePort("http", 9080, blackhole.getLocalPort(), "HTTP")), null));
      mesh.closeables.add(registration::close);
      mesh.awaitWorkloads(2);
      mesh.write("reviews-vs.yaml", """
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata:
            name: reviews
          spec:
            hosts: [reviews]
            http:
            - route:
              - destination: {host: reviews, subset: v9}
              retries: {attempts: 0}
          """);
      mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE.replace("  host: reviews\n",
          "  host: reviews\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        connectTimeout: 300ms\n")
          + "  - name: v9\n    labels:\n      version: v9\n");

      long started = System.nanoTime();
      try (Response response = client.newCall(new Request.Builder().url(URL).build()).execute()) {
        long millis = (System.nanoTime() - started) / 1_000_000;
        assertThat(response.code()).isEqualTo(503);
        assertThat(response.header("x-inmesh-flags")).isEqualTo("UF");
        // the default connect timeout is 10 s: this one ended the attempt long before
        assertThat(millis).isLessThan(5_000);
      }
      for (Socket socket : queued) {
        socket.close();
      }
    }
  }

  /** Connects until the listener's accept queue is full, so that the next SYN goes unanswered. */
  private static List<Socket> fillAcceptQueue(ServerSocket listener) throws Exception {
    List<Socket> queued = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      Socket socket = new Socket();
      try {
        socket.connect(listener.getLocalSocketAddress(), 300);
        queued.add(socket);
      } catch (SocketTimeoutException full) {
        socket.close();
        return queued;
      }
    }
    throw new AssertionError("the accept queue of " + listener + " never filled");
  }

  @Test
  void anIdleTimeoutClosesTheIdleConnectionAndTheNextCallOpensANewOne() throws Exception {
    BlockingQueue<RecordedRequest> seen = new LinkedBlockingQueue<>();
    v1.behave(request -> {
      seen.add(request);
      return new MockResponse.Builder().code(200).body("v1").build();
    });
    destinationRule("""
        connectionPool:
          http:
            idleTimeout: 2s
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    HttpMesh.get(client, URL, Map.of());
    seen.clear();

    HttpMesh.get(client, URL, Map.of());
    HttpMesh.get(client, URL, Map.of());
    RecordedRequest first = seen.poll(5, TimeUnit.SECONDS);
    RecordedRequest second = seen.poll(5, TimeUnit.SECONDS);
    assertThat(second.getConnectionIndex()).as("back to back calls share the connection").isEqualTo(first.getConnectionIndex());

    HttpMesh.sleep(Duration.ofSeconds(5));
    HttpMesh.get(client, URL, Map.of());
    RecordedRequest afterIdle = seen.poll(5, TimeUnit.SECONDS);
    assertThat(afterIdle.getConnectionIndex()).isNotEqualTo(first.getConnectionIndex());
    assertThat(afterIdle.getExchangeIndex()).isZero();
  }

  @Test
  void oneRequestPerConnectionOpensANewConnectionForEachRequest() throws Exception {
    BlockingQueue<RecordedRequest> seen = new LinkedBlockingQueue<>();
    v1.behave(request -> {
      seen.add(request);
      return new MockResponse.Builder().code(200).body("v1").build();
    });
    destinationRule("""
        connectionPool:
          http:
            maxRequestsPerConnection: 1
        """);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    seen.clear();

    for (int i = 0; i < 5; i++) {
      assertThat(HttpMesh.get(client, URL, Map.of())).isEqualTo("v1");
    }

    List<RecordedRequest> requests = new ArrayList<>();
    seen.drainTo(requests);
    assertThat(requests).hasSize(5);
    assertThat(requests).allSatisfy(r -> assertThat(r.getExchangeIndex()).as("requests before it on its connection").isZero());
    assertThat(requests.stream().map(RecordedRequest::getConnectionIndex).distinct()).hasSize(5);
  }

  @Test
  void aRetryBudgetBoundsTheRetriesInFlight() throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    v1.behave(request -> {
      attempts.incrementAndGet();
      HttpMesh.sleep(Duration.ofMillis(50));
      return new MockResponse.Builder().code(503).body("down").build();
    });
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
            retries: {attempts: 5, retryOn: 5xx}
        """);
    destinationRule("""
        retryBudget:
          percent: 0
          minRetryConcurrency: 1
        """);
    HttpMesh.await(() -> HttpMesh.get(client, URL, Map.of()).startsWith("503"), Duration.ofSeconds(10), "the failing backend");
    attempts.set(0);

    int calls = 24;
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      done.add(callers.submit(() -> HttpMesh.get(client, URL, Map.of())));
    }
    for (Future<?> future : done) {
      future.get(60, TimeUnit.SECONDS);
    }

    // unbounded, each call would be tried 6 times; one retry in flight at a time leaves most calls one try
    assertThat(attempts.get()).isGreaterThanOrEqualTo(calls).isLessThan(calls * 3);
    assertThat(registry.get("inmesh.circuit.overflows").tag("limit", "retries").counter().count()).isPositive();
  }
}
