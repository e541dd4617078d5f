package dev.inmesh.benchmarks.loopback;

import com.sun.management.OperatingSystemMXBean;
import dev.inmesh.Mesh;
import dev.inmesh.benchmarks.HeapInUse;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.WorkloadRegistration;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.HdrHistogram.Histogram;

/**
 * The end-to-end comparison (P2–P5 in BENCHMARKS.md), one command, every variant against the
 * same nginx backend (a 1 KB body) on loopback, in alternating rounds (ABCD ABCD …) so that a
 * noisy machine hurts every variant alike:
 * <ul>
 *   <li>{@code plain}: OkHttp straight to nginx;
 *   <li>{@code inmesh}: OkHttp through Inmesh (routing, balancing, retries, Istio metrics into a
 *       Prometheus registry, trace context), nginx registered as a mesh workload;
 *   <li>{@code haproxy-1}: one HAProxy hop, standing in for a sidecar;
 *   <li>{@code haproxy-2}: two HAProxy hops, client and server sidecars as Istio runs them.
 * </ul>
 * Each variant has its own OkHttpClient, as separate apps would. Each round sends a fixed rate
 * (open loop, latency from each request's scheduled time, recorded in HdrHistogram) and records
 * the CPU used by the JVM and the external processes; then each variant runs with 16 callers back
 * to back for throughput. Last, what each variant keeps in memory: the heap its client side
 * retains (the Mesh with its client for Inmesh) and the resident memory of its sidecars.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.LoopbackHarness
 * [--rate 1000] [--seconds 10] [--rounds 3] [--callers 16]}
 */
public final class LoopbackHarness {
  private static final List<String> VARIANTS = List.of("plain", "inmesh", "haproxy-1", "haproxy-2");

  private LoopbackHarness() {}

  /**
   * A variant's totals over every round.
   *
   * @param heapRetainedBytes the heap its client side retained after the rounds (in use after full
   *     collections, less what is in use once it is closed and let go)
   * @param sidecarRssBytes the resident memory of its HAProxy processes (0 without one)
   */
  public record Result(String variant, Histogram latencies, long requests, long failures, long cpuMillis, double throughput,
      long heapRetainedBytes, long sidecarRssBytes) {
    public double p50Micros() {
      return latencies.getValueAtPercentile(50) / 1000.0;
    }

    public double p90Micros() {
      return latencies.getValueAtPercentile(90) / 1000.0;
    }

    public double p99Micros() {
      return latencies.getValueAtPercentile(99) / 1000.0;
    }

    /** CPU milliseconds (JVM and external processes) per 1,000 requests. */
    public double cpuPerThousand() {
      return requests == 0 ? 0 : cpuMillis * 1000.0 / requests;
    }
  }

  public record Options(int rate, Duration round, int rounds, int callers, Duration throughputRound) {
    static Options parse(String[] args) {
      int rate = 1000;
      int seconds = 10;
      int rounds = 3;
      int callers = 16;
      for (int i = 0; i + 1 < args.length; i += 2) {
        int value = Integer.parseInt(args[i + 1]);
        switch (args[i]) {
          case "--rate" -> rate = value;
          case "--seconds" -> seconds = value;
          case "--rounds" -> rounds = value;
          case "--callers" -> callers = value;
          default -> throw new IllegalArgumentException("unknown option " + args[i]);
        }
      }
      return new Options(rate, Duration.ofSeconds(seconds), rounds, callers, Duration.ofSeconds(Math.max(1, seconds / 2)));
    }
  }

  public static void main(String[] args) throws Exception {
    List<Result> results = run(Options.parse(args), System.out);
    report(results, System.out);
  }

  public static List<Result> run(Options options, PrintStream out) throws Exception {
    Path dir = Files.createTempDirectory("inmesh-loopback-");
    ExecutorService workers = Load.workers();
    List<AutoCloseable> closing = new ArrayList<>();
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds())) {
      External nginx = External.nginx(dir, freePort());
      closing.add(nginx);
      External sidecar = External.haproxy(dir, freePort(), nginx.port);
      closing.add(sidecar);
      External serverSidecar = External.haproxy(dir, freePort(), nginx.port);
      closing.add(serverSidecar);
      External clientSidecar = External.haproxy(dir, freePort(), serverSidecar.port);
      closing.add(clientSidecar);

      // nginx joins the mesh as backend.default, port 8080, the way any workload registers
      ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:" + control.xdsPort()).usePlaintext().build();
      closing.add(channel::shutdownNow);
      WorkloadRegistration registration = WorkloadRegistration.start(channel, new WorkloadMetadata("backend", "default",
          "backend", "backend-v1", Map.of("app", "backend", "version", "v1"), "127.0.0.1",
          List.of(new ServicePort("http", 8080, nginx.port, "HTTP")), null));
      closing.add(registration::close);
      Map<String, Variant> variants = new LinkedHashMap<>();
      try {
        // Istio's metrics go to a Prometheus registry that only the Mesh holds, so that it is part of
        // what the Mesh retains
        Mesh mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default")
            .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build();
        variants.put("inmesh", new Variant(get(MeshHttp.client(mesh), "http://backend:8080/"), List.of(nginx), List.of(), mesh));
        Await.until(() -> control.workloads().size() == 1, Duration.ofSeconds(10), "nginx to register as backend");
        mesh.awaitReady(Duration.ofSeconds(10));
        variants.put("plain", new Variant(get(new OkHttpClient(), "http://127.0.0.1:" + nginx.port + "/"), List.of(nginx),
            List.of(), null));
        variants.put("haproxy-1", new Variant(get(new OkHttpClient(), "http://127.0.0.1:" + sidecar.port + "/"),
            List.of(nginx, sidecar), List.of(sidecar), null));
        variants.put("haproxy-2", new Variant(get(new OkHttpClient(), "http://127.0.0.1:" + clientSidecar.port + "/"),
            List.of(nginx, clientSidecar, serverSidecar), List.of(clientSidecar, serverSidecar), null));
        mesh = null; // from here only its variant holds the Mesh, so that letting go of the variant frees it
        return measure(options, variants, workers, out);
      } finally {
        // measure() closes each variant as it measures its memory; these are the ones a failure left
        for (Variant variant : variants.values()) {
          variant.close();
        }
      }
    } finally {
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
      workers.shutdownNow();
    }
  }

  /**
   * One variant's client side: the call it makes, the processes charged with its CPU (the backend
   * and its sidecars), its sidecars, and the Mesh it holds, if any.
   */
  private record Variant(Get call, List<External> processes, List<External> sidecars, Mesh mesh) implements AutoCloseable {
    @Override
    public void close() {
      call.client().dispatcher().executorService().shutdown();
      call.client().connectionPool().evictAll();
      if (mesh != null) {
        mesh.close();
      }
    }
  }

  private static List<Result> measure(Options options, Map<String, Variant> variants, ExecutorService workers,
      PrintStream out) throws Exception {
    // warm up every path (JIT, connections) as the measured rounds run: two rounds, alternating;
    // the JIT recompiles shared code as each variant's types reach it, so one short pass each is not enough
    for (int round = 0; round < 2; round++) {
      for (String variant : VARIANTS) {
        Load.openLoop(variants.get(variant).call(), options.rate(), options.round(), workers);
      }
    }
    Map<String, Histogram> latencies = new LinkedHashMap<>();
    Map<String, long[]> totals = new LinkedHashMap<>();
    Map<String, Map<String, Long>> byThreads = new LinkedHashMap<>();
    for (int round = 1; round <= options.rounds(); round++) {
      for (String variant : VARIANTS) {
        // the JIT's compiler threads are left out: compiling is not a cost per request, and it
        // lands on whichever variant runs while it happens
        long processes = cpu(variants.get(variant).processes());
        long cpuBefore = processCpuMillis() - jitMillis() + processes;
        ThreadCpu threads = ThreadCpu.now();
        Load.Run run = Load.openLoop(variants.get(variant).call(), options.rate(), options.round(), workers);
        long processesAfter = cpu(variants.get(variant).processes());
        long cpu = processCpuMillis() - jitMillis() + processesAfter - cpuBefore;
        Map<String, Long> used = byThreads.computeIfAbsent(variant, v -> new TreeMap<>());
        ThreadCpu.now().since(threads, ThreadCpu::group).forEach((group, millis) -> used.merge(group, millis, Long::sum));
        used.merge("nginx and HAProxy (processes)", processesAfter - processes, Long::sum);
        latencies.computeIfAbsent(variant, v -> new Histogram(TimeUnit.SECONDS.toNanos(30), 3)).add(run.latencies());
        long[] total = totals.computeIfAbsent(variant, v -> new long[3]);
        total[0] += run.requests();
        total[1] += run.failures();
        total[2] += cpu;
        out.printf(Locale.ROOT, "round %d %-10s p50 %7.1f µs  p99 %8.1f µs  cpu %5d ms  failed %d%n", round, variant,
            run.latencies().getValueAtPercentile(50) / 1000.0, run.latencies().getValueAtPercentile(99) / 1000.0, cpu,
            run.failures());
      }
    }
    // who used the CPU in the two variants P2 and P5 compare
    out.println(ThreadCpu.perRequest("inmesh", byThreads.get("inmesh"), totals.get("inmesh")[0], "plain",
        byThreads.get("plain"), totals.get("plain")[0]));
    Map<String, Double> throughput = new LinkedHashMap<>();
    for (int round = 1; round <= Math.max(1, options.rounds() - 1); round++) {
      for (String variant : VARIANTS) {
        double rps = Load.closedLoop(variants.get(variant).call(), options.callers(), options.throughputRound());
        throughput.merge(variant, rps, Double::sum);
        out.printf(Locale.ROOT, "throughput round %d %-10s %,10.0f req/s with %d callers%n", round, variant, rps,
            options.callers());
      }
    }
    // what each variant keeps in memory once it has run: the heap its client side retains, measured
    // by letting go of it (in use after full collections, before and after), and its sidecars' resident memory
    Map<String, long[]> memory = new LinkedHashMap<>();
    for (String variant : VARIANTS) {
      long sidecarRss = variants.get(variant).sidecars().stream().mapToLong(External::rssKilobytes).sum() * 1024;
      long holding = HeapInUse.afterFullCollections();
      variants.remove(variant).close();
      long released = HeapInUse.afterFullCollections();
      memory.put(variant, new long[] {holding - released, sidecarRss});
      out.printf(Locale.ROOT, "memory %-10s heap retained %,d bytes, sidecar RSS %,d bytes%n", variant, holding - released,
          sidecarRss);
    }
    List<Result> results = new ArrayList<>();
    for (String variant : VARIANTS) {
      long[] total = totals.get(variant);
      results.add(new Result(variant, latencies.get(variant), total[0], total[1], total[2],
          throughput.get(variant) / Math.max(1, options.rounds() - 1), memory.get(variant)[0], memory.get(variant)[1]));
    }
    return results;
  }

  /** The table and the targets P2–P5, PASS or FAIL. */
  public static void report(List<Result> results, PrintStream out) {
    Map<String, Result> by = new LinkedHashMap<>();
    results.forEach(r -> by.put(r.variant(), r));
    Result plain = by.get("plain");
    out.println();
    out.println("| variant | p50 µs | p90 µs | p99 µs | added p50 µs | CPU ms / 1,000 req | throughput req/s | heap retained kB"
        + " | sidecar RSS MB | failed |");
    out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Result r : results) {
      out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %,.0f | %,.0f | %.1f | %d |%n", r.variant(),
          r.p50Micros(), r.p90Micros(), r.p99Micros(), r.p50Micros() - plain.p50Micros(), r.cpuPerThousand(), r.throughput(),
          r.heapRetainedBytes() / 1e3, r.sidecarRssBytes() / 1e6, r.failures());
    }
    double inmeshAdded = by.get("inmesh").p50Micros() - plain.p50Micros();
    double oneHop = by.get("haproxy-1").p50Micros() - plain.p50Micros();
    double twoHops = by.get("haproxy-2").p50Micros() - plain.p50Micros();
    double throughputShare = by.get("inmesh").throughput() / plain.throughput();
    double addedVcpu = (by.get("inmesh").cpuPerThousand() - plain.cpuPerThousand()) / 1000;
    out.println();
    target(out, "P2", "added latency over plain OkHttp, p50", String.format(Locale.ROOT, "%.1f µs", inmeshAdded), "≤ 10 µs",
        inmeshAdded <= 10);
    // a ratio to a difference at or below zero says nothing: then the hops' own figures are given
    target(out, "P3", "less added latency than one / two HAProxy hops", inmeshAdded > 0
        ? String.format(Locale.ROOT, "%.1f× / %.1f×", oneHop / inmeshAdded, twoHops / inmeshAdded)
        : String.format(Locale.ROOT, "Inmesh added none; the hops added %.1f / %.1f µs", oneHop, twoHops),
        "≥ 5× / ≥ 10×", oneHop >= 5 * inmeshAdded && twoHops >= 10 * inmeshAdded);
    target(out, "P4", "throughput at 16 callers, share of plain OkHttp",
        String.format(Locale.ROOT, "%.0f%%", 100 * throughputShare), "≥ 90%", throughputShare >= 0.9);
    target(out, "P5", "added vCPU per 1,000 rps", String.format(Locale.ROOT, "%.3f", addedVcpu), "≤ 0.02", addedVcpu <= 0.02);
  }

  static void target(PrintStream out, String id, String what, String measured, String target, boolean pass) {
    out.printf("| %s | %s | %s | %s | %s |%n", id, what, measured, target, pass ? "PASS" : "FAIL");
  }

  private static Get get(OkHttpClient client, String url) {
    return new Get(client, new Request.Builder().url(url).build());
  }

  /** A GET of the 1 KB body, which fails on any other answer. */
  private record Get(OkHttpClient client, Request request) implements Load.Call {
    @Override
    public void run() throws Exception {
      try (Response response = client.newCall(request).execute()) {
        if (response.code() != 200 || response.body().bytes().length != External.BODY.length()) {
          throw new IOException(request.url() + " answered " + response.code());
        }
      }
    }
  }

  /**
   * CPU this JVM's JIT compiler threads have used, in ms, from {@code /proc/self/task} (Linux; 0
   * elsewhere). A compiler thread that has ended takes its time with it, so what is subtracted can
   * only be too little, never too much.
   */
  static long jitMillis() {
    return ThreadCpu.now().millis(ThreadCpu::isJit);
  }

  /** The CPU this JVM has used, every thread of it, in ms. */
  static long processCpuMillis() {
    return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1_000_000;
  }

  private static long cpu(List<External> processes) {
    return processes.stream().mapToLong(External::cpuMillis).sum();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
