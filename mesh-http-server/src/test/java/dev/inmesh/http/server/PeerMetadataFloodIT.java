package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.telemetry.PeerMetadata;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * 100,000 distinct {@code x-envoy-peer-metadata} headers against the JDK server behind the door,
 * with a real mesh-control: from a plaintext caller, from an mTLS caller whose metadata names
 * another namespace than its certificate, and from an mTLS caller of the right namespace naming a
 * new workload each time. The first two are not believed and count in one series each; the third
 * is believed and stops at the reporter's maximum of series. The meters and the heap stay bounded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeerMetadataFloodIT {
  private static final int FLOOD = 100_000;
  private static final int CALLERS = 4;

  InboundFixture mesh;
  Mesh reviews;
  Mesh productpage;
  PrometheusMeterRegistry registry;
  MeshHttpServer server;
  ExecutorService handlers;
  int port;
  /** Requests the handler served: at least the callers' count, more if the JDK client resent a GET. */
  final AtomicLong handled = new AtomicLong();

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture();
    port = InboundFixture.freePort();
    reviews = mesh.server("reviews", port);
    productpage = mesh.client("productpage");
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    server = MeshHttpServer.builder(reviews, port).meterRegistry(registry).build();
    server.createContext("/", exchange -> {
      handled.incrementAndGet();
      byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    handlers = Executors.newFixedThreadPool(CALLERS);
    server.setExecutor(handlers);
    server.start();
    mesh.mtlsMode(reviews, port, MtlsMode.PERMISSIVE);
  }

  @AfterAll
  void stop() {
    server.close();
    handlers.shutdownNow();
    mesh.close();
  }

  @Test
  void distinctPeerMetadataKeepsTheMetersAndTheHeapBounded() throws Exception {
    long heapBefore = usedHeap();
    int metersBefore = registry.getMeters().size();

    Flood plaintext = flood("plaintext, any namespace", InboundFixture.plaintextHttp(), "http",
        i -> new PeerMetadata("forged-" + i, "ns-" + (i % 1000), Map.of("app", "forged-" + i, "version", "v" + i)));
    Flood otherNamespace = flood("mTLS as default/productpage, metadata of namespace prod", InboundFixture.mtlsHttp(productpage),
        "https", i -> new PeerMetadata("forged-" + i, "prod", Map.of("app", "forged-" + i, "version", "v" + i)));
    Flood sameNamespace = flood("mTLS as default/productpage, metadata of namespace default", InboundFixture.mtlsHttp(productpage),
        "https", i -> new PeerMetadata("workload-" + i, "default", Map.of("app", "workload-" + i)));

    System.out.printf("before the floods: %d meters, %.1f MB of heap in use%n", metersBefore, heapBefore / 1e6);
    for (Flood flood : List.of(plaintext, otherNamespace, sameNamespace)) {
      System.out.println(flood);
    }
    String scrape = registry.scrape();
    System.out.printf("a scrape: %.1f MB, %d lines%n", scrape.length() / 1e6, scrape.lines().count());

    assertThat(plaintext.newSeries).as("a plaintext caller's claims are not believed").isEqualTo(1);
    assertThat(plaintext.servedAs("unknown")).isEqualTo(plaintext.handled);
    assertThat(otherNamespace.newSeries).as("claims of another namespace than the certificate's").isEqualTo(1);
    assertThat(otherNamespace.servedAs("unknown")).isEqualTo(otherNamespace.handled);
    assertThat(sameNamespace.seriesAfter).isEqualTo(IstioMetrics.MAX_SERIES);
    assertThat(sameNamespace.refusedAfter).isEqualTo(sameNamespace.handled - (IstioMetrics.MAX_SERIES - 2));
    // each series: a counter, a duration histogram, and the request and response sizes
    assertThat(sameNamespace.istioMetersAfter).isLessThanOrEqualTo(4 * IstioMetrics.MAX_SERIES);
    assertThat(sameNamespace.heapAfter - heapBefore).as("heap grown by the floods").isLessThan(256L << 20);
  }

  /** What one flood left behind. */
  private record Flood(String caller, long handled, int newSeries, int seriesAfter, double refusedAfter, long istioMetersAfter,
      int metersAfter, long heapAfter, long millis, Map<String, Double> bySourceWorkload) {
    double servedAs(String sourceWorkload) {
      return bySourceWorkload.getOrDefault(sourceWorkload, 0.0);
    }

    @Override
    public String toString() {
      return String.format("%,d requests (%s) in %,d ms, %,d served: %d new istio_requests series (%d in all),"
          + " %,.0f requests refused a series so far, %d istio meters of %d meters, %.1f MB of heap in use", FLOOD, caller, millis, handled, newSeries,
          seriesAfter, refusedAfter, istioMetersAfter, metersAfter, heapAfter / 1e6);
    }
  }

  /** {@link #FLOOD} requests on {@link #CALLERS} threads, request {@code i} with {@code metadata(i)}. */
  private Flood flood(String caller, HttpClient http, String scheme, IntFunction<PeerMetadata> metadata) throws Exception {
    int seriesBefore = series();
    long handledBefore = handled.get();
    Map<String, Double> servedBefore = bySourceWorkload();
    long started = System.nanoTime();
    ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < CALLERS; c++) {
        int first = c;
        done.add(callers.submit(() -> {
          for (int i = first; i < FLOOD; i += CALLERS) {
            PeerMetadata claim = metadata.apply(i);
            HttpRequest request = HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + port + "/reviews/1"))
                .header(PeerMetadata.HEADER, claim.encode()).header(PeerMetadata.ID_HEADER, claim.id())
                .timeout(Duration.ofSeconds(10)).build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
          }
          return null;
        }));
      }
      for (Future<?> future : done) {
        future.get();
      }
    } finally {
      callers.shutdownNow();
    }
    long millis = (System.nanoTime() - started) / 1_000_000;
    // the JDK client may resend a GET once when a kept-alive connection closes under it, so the
    // handler can serve a few more requests than were sent; every one it served must be recorded
    long served = handled.get() - handledBefore;
    assertThat(served).as(caller + ": requests served").isBetween((long) FLOOD, FLOOD + FLOOD / 1000L);
    // the server records a request as its exchange ends, which may come just after the caller has its answer
    InboundFixture.awaitCount(() -> total(bySourceWorkload()) - total(servedBefore), served, caller + ": requests recorded"
        + " or refused a series");
    Map<String, Double> bySource = bySourceWorkload();
    servedBefore.forEach((workload, count) -> bySource.merge(workload, -count, Double::sum));
    long istioMeters = registry.getMeters().stream().filter(m -> m.getId().getName().startsWith("istio.")).count();
    return new Flood(caller, served, series() - seriesBefore, series(), refused(), istioMeters, registry.getMeters().size(),
        usedHeap(), millis, bySource);
  }

  private int series() {
    return registry.find(IstioMetrics.REQUESTS).counters().size();
  }

  private double refused() {
    Counter counter = registry.find(IstioMetrics.REFUSED_SERIES).counter();
    return counter == null ? 0 : counter.count();
  }

  /** Requests recorded by source workload, and those refused a series under {@code "(refused)"}. */
  private Map<String, Double> bySourceWorkload() {
    Map<String, Double> counts = new java.util.HashMap<>();
    for (Counter counter : registry.find(IstioMetrics.REQUESTS).tag("reporter", "destination").counters()) {
      counts.merge(counter.getId().getTag("source_workload"), counter.count(), Double::sum);
    }
    counts.put("(refused)", refused());
    return counts;
  }

  private static double total(Map<String, Double> counts) {
    return counts.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  private static long usedHeap() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
