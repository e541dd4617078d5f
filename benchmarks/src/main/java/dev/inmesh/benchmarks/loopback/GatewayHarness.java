package dev.inmesh.benchmarks.loopback;

import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.testing.Await;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Ingresses side by side (BENCHMARKS.md, "The ingress gateway"): in one run, each in front of the
 * same nginx backend (a 1 KB body), over plaintext and with TLS terminated at the ingress:
 * <ul>
 *   <li>{@code direct}: the backend itself, the baseline;
 *   <li>{@code mesh-gateway}: the shaded jar as its own process, routed by a Gateway, a VirtualService
 *       and a ServiceEntry (STATIC, 127.0.0.1, MESH_EXTERNAL: plaintext to the backend) from a real
 *       mesh-control, its certificate from the real CA;
 *   <li>{@code nginx} as a reverse proxy and {@code haproxy};
 *   <li>{@code netty-front} and {@code jdk-httpserver} (plaintext only): the same bare forwarding
 *       front on Netty and on the JDK's HttpServer ({@link ForwardingFront}), the server library alone.
 * </ul>
 * Each round runs every variant, in an order rotated from round to round so that a noisy machine
 * hurts every variant alike: a fixed rate (open loop, latency from each request's scheduled time,
 * JVM OkHttp client with kept connections), then wrk with 64 connections for the most it answers.
 * The CPU the ingress process used in each phase is read from {@code /proc} and divided by the
 * requests of that phase. The report gives the medians over the rounds.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.GatewayHarness
 * [--rate 1000] [--seconds 5] [--throughput-seconds 5] [--rounds 5] [--connections 64] [--gateway-jar PATH]
 * [--gateway-jvm-option OPTION ...]}
 */
public final class GatewayHarness {
  private static final String GATEWAY_YAML = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: bench-gateway
        namespace: istio-system
      spec:
        selector:
          istio: ingressgateway
        servers:
        - port: {number: 8080, name: http, protocol: HTTP}
          hosts: ["*"]
        - port: {number: 8443, name: https, protocol: HTTPS}
          hosts: ["*"]
          tls: {mode: SIMPLE, credentialName: bench}
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: bench
        namespace: istio-system
      spec:
        hosts: ["*"]
        gateways: [bench-gateway]
        http:
        - route:
          - destination:
              host: backend.bench.example
              port: {number: 80}
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata:
        name: backend
        namespace: istio-system
      spec:
        hosts: [backend.bench.example]
        location: MESH_EXTERNAL
        ports:
        - {number: 80, name: http, protocol: HTTP}
        resolution: STATIC
        endpoints:
        - address: 127.0.0.1
          ports: {http: %d}
      """;

  private GatewayHarness() {}

  record Options(int rate, Duration round, Duration throughputRound, int rounds, int connections, Path gatewayJar,
      List<String> gatewayJvmOptions) {
    static Options parse(String[] args) {
      int rate = 1000;
      int seconds = 5;
      int throughputSeconds = 5;
      int rounds = 5;
      int connections = 64;
      Path jar = Path.of("mesh-gateway/target/mesh-gateway.jar");
      List<String> jvm = new ArrayList<>();
      for (int i = 0; i + 1 < args.length; i += 2) {
        String value = args[i + 1];
        switch (args[i]) {
          case "--rate" -> rate = Integer.parseInt(value);
          case "--seconds" -> seconds = Integer.parseInt(value);
          case "--throughput-seconds" -> throughputSeconds = Integer.parseInt(value);
          case "--rounds" -> rounds = Integer.parseInt(value);
          case "--connections" -> connections = Integer.parseInt(value);
          case "--gateway-jar" -> jar = Path.of(value);
          case "--gateway-jvm-option" -> jvm.add(value);
          default -> throw new IllegalArgumentException("unknown option " + args[i]);
        }
      }
      if (!Files.isRegularFile(jar)) {
        throw new IllegalArgumentException("no mesh-gateway jar at " + jar.toAbsolutePath()
            + ": build it (mvn -pl mesh-gateway -am package -DskipTests) or pass --gateway-jar");
      }
      return new Options(rate, Duration.ofSeconds(seconds), Duration.ofSeconds(throughputSeconds), rounds, connections, jar,
          jvm);
    }
  }

  /** What the gateway process needs from mesh-control and its CA. */
  record ControlPlane(int xdsPort, int caPort, Path rootFile, Path tokenFile, Path credentialsDir) {
    static ControlPlane of(MeshControl control, Path dir, Ingresses.Certificate tls, int backendPort) throws IOException {
      ApplyResult applied = control.apply("gateway-harness", GATEWAY_YAML.formatted(backendPort));
      if (!applied.accepted() || !applied.errors().isEmpty()) {
        throw new IllegalStateException("mesh-control refused the benchmark's config: " + applied.problems());
      }
      CertificateAuthority ca = control.ca().orElseThrow();
      Path root = Files.writeString(dir.resolve("root-cert.pem"), ca.trustBundle().toPem());
      Path token = Files.writeString(dir.resolve("gateway.token"),
          ca.joinTokens().create("istio-system", "istio-ingressgateway", Duration.ofHours(4)).value());
      Path credentials = Files.createDirectories(dir.resolve("credentials/bench"));
      Files.copy(tls.certificate(), credentials.resolve("tls.crt"));
      Files.copy(tls.key(), credentials.resolve("tls.key"));
      return new ControlPlane(control.xdsPort(), control.caGrpcPort(), root, token, credentials.getParent());
    }
  }

  /** One ingress over one transport: its URL, its client for the fixed rate, and its process (none for direct). */
  private record Variant(String ingress, boolean tls, String url, OkHttpClient client, External process) {
    String name() {
      return ingress + (tls ? "/tls" : "/plain");
    }

    long cpuMillis() {
      return process == null ? 0 : process.cpuMillis();
    }

    ThreadCpu threads() {
      return process == null ? new ThreadCpu(Map.of()) : ThreadCpu.of(process.pid());
    }

    void get() throws Exception {
      try (Response response = client.newCall(new Request.Builder().url(url).build()).execute()) {
        if (response.code() != 200 || response.body().bytes().length != External.BODY.length()) {
          throw new IOException(url + " answered " + response.code());
        }
      }
    }
  }

  /**
   * A variant's figures per round; for a JVM ingress also the CPU of its threads by group over the
   * throughput phases, and those phases' requests.
   */
  record Rounds(List<Double> p50, List<Double> p99, List<Double> throughput, List<Double> cpuAtRate,
      List<Double> cpuAtMost, long[] failures, Map<String, Long> threadsAtMost, long[] requestsAtMost) {
    Rounds() {
      this(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new long[2],
          new TreeMap<>(), new long[1]);
    }
  }

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    Path dir = Files.createTempDirectory("inmesh-gateway-bench-");
    Ingresses.Certificate tls = Ingresses.Certificate.generate(dir);
    List<External> processes = new ArrayList<>();
    ExecutorService workers = Load.workers();
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral())) {
      int backendTls = LoopbackHarness.freePort();
      External backend = started(processes, Ingresses.backend(dir, LoopbackHarness.freePort(), backendTls, tls));
      ControlPlane plane = ControlPlane.of(control, dir, tls, backend.port);
      X509TrustManager trust = trusting(tls.certificate());
      List<Variant> variants = new ArrayList<>();
      variants.add(new Variant("direct", false, url(false, backend.port), client(null), null));
      variants.add(new Variant("direct", true, url(true, backendTls), client(trust), null));
      int[] ports = {LoopbackHarness.freePort(), LoopbackHarness.freePort()};
      External gateway = started(processes,
          Ingresses.gateway(dir, options.gatewayJar(), options.gatewayJvmOptions(), ports[0], ports[1], plane));
      addBoth(variants, "mesh-gateway", gateway, ports, trust);
      ports = new int[] {LoopbackHarness.freePort(), LoopbackHarness.freePort()};
      addBoth(variants, "nginx", started(processes, Ingresses.nginxProxy(dir, ports[0], ports[1], tls, backend.port)), ports,
          trust);
      ports = new int[] {LoopbackHarness.freePort(), LoopbackHarness.freePort()};
      addBoth(variants, "haproxy", started(processes, Ingresses.haproxy(dir, ports[0], ports[1], tls, backend.port)), ports,
          trust);
      for (ForwardingFront.Library library : ForwardingFront.Library.values()) {
        int port = LoopbackHarness.freePort();
        variants.add(new Variant(library.label(), false, url(false, port), client(null),
            started(processes, Ingresses.front(dir, library, port, backend.port))));
      }
      for (Variant variant : variants) {
        Await.until(() -> answers(variant), Duration.ofSeconds(60), variant.name() + " to answer 200 with the 1 KB body");
      }
      Map<String, Rounds> rounds = measure(options, variants, workers, System.out);
      report(options, rounds, System.out);
    } finally {
      for (int i = processes.size() - 1; i >= 0; i--) {
        processes.get(i).close();
      }
      workers.shutdownNow();
    }
  }

  private static External started(List<External> processes, External process) {
    processes.add(process);
    return process;
  }

  private static void addBoth(List<Variant> variants, String ingress, External process, int[] ports, X509TrustManager trust)
      throws Exception {
    variants.add(new Variant(ingress, false, url(false, ports[0]), client(null), process));
    variants.add(new Variant(ingress, true, url(true, ports[1]), client(trust), process));
  }

  /**
   * The fixed rate's client of one variant, with a connection pool of its own (as a separate app's)
   * that keeps up to 64 connections for 5 minutes: with OkHttp's default of 5, or one pool shared by
   * every variant, connections would be closed and opened again, and a TLS ingress would pay
   * handshakes in bursts at the start of its turn. HTTP/1.1 only, as wrk speaks: over TLS OkHttp
   * would take h2 where the ingress offers it (mesh-gateway does). {@code trust}: null for plaintext.
   */
  private static OkHttpClient client(X509TrustManager trust) throws Exception {
    OkHttpClient.Builder builder = new OkHttpClient.Builder().connectionPool(new ConnectionPool(64, 5, TimeUnit.MINUTES))
        .protocols(List.of(Protocol.HTTP_1_1));
    if (trust != null) {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {trust}, null);
      builder.sslSocketFactory(context.getSocketFactory(), trust);
    }
    return builder.build();
  }

  private static String url(boolean tls, int port) {
    return (tls ? "https" : "http") + "://127.0.0.1:" + port + "/";
  }

  private static boolean answers(Variant variant) {
    try {
      variant.get();
      return true;
    } catch (Exception notYet) {
      return false;
    }
  }

  private static Map<String, Rounds> measure(Options options, List<Variant> variants, ExecutorService workers,
      PrintStream out) throws Exception {
    // two passes to warm up every JIT and open every connection pool before anything is measured
    for (int pass = 0; pass < 2; pass++) {
      for (Variant variant : variants) {
        Load.openLoop(variant::get, options.rate(), options.round(), workers);
        Wrk.run(variant.url(), 2, options.connections(), options.throughputRound());
      }
    }
    Map<String, Rounds> rounds = new LinkedHashMap<>();
    variants.forEach(v -> rounds.put(v.name(), new Rounds()));
    for (int round = 1; round <= options.rounds(); round++) {
      List<Variant> order = new ArrayList<>(variants);
      Collections.rotate(order, -((round - 1) * 3 % variants.size()));
      if (round % 2 == 0) {
        Collections.reverse(order);
      }
      out.printf(Locale.ROOT, "round %d, load average %s%n", round, loadAverage());
      for (Variant variant : order) {
        long before = variant.cpuMillis();
        Load.Run run = Load.openLoop(variant::get, options.rate(), options.round(), workers);
        long atRate = variant.cpuMillis();
        ThreadCpu threads = variant.threads();
        Wrk.Result most = Wrk.run(variant.url(), 2, options.connections(), options.throughputRound());
        long atMost = variant.cpuMillis();
        Rounds figures = rounds.get(variant.name());
        variant.threads().since(threads, ThreadCpu::group)
            .forEach((group, ms) -> figures.threadsAtMost().merge(group, ms, Long::sum));
        figures.requestsAtMost()[0] += most.requests();
        double p50 = run.latencies().getValueAtPercentile(50) / 1000.0;
        double p99 = run.latencies().getValueAtPercentile(99) / 1000.0;
        double cpuAtRate = (atRate - before) * 1000.0 / run.requests();
        double cpuAtMost = (atMost - atRate) * 1000.0 / Math.max(1, most.requests());
        figures.p50().add(p50);
        figures.p99().add(p99);
        figures.throughput().add(most.perSecond());
        figures.cpuAtRate().add(cpuAtRate);
        figures.cpuAtMost().add(cpuAtMost);
        figures.failures()[0] += run.failures();
        figures.failures()[1] += most.failures();
        out.printf(Locale.ROOT, "  %-20s p50 %7.1f µs  p99 %8.1f µs  cpu %5.1f µs/req | %,8.0f req/s  cpu %5.1f µs/req"
            + "  failed %d + %d%n", variant.name(), p50, p99, cpuAtRate, most.perSecond(), cpuAtMost, run.failures(),
            most.failures());
      }
    }
    out.printf(Locale.ROOT, "after the rounds, load average %s%n", loadAverage());
    out.println("the JVM ingresses' CPU per request at the most they answer, by thread, µs:");
    rounds.forEach((name, r) -> {
      if (r.threadsAtMost().size() > 1) {
        StringBuilder line = new StringBuilder("  " + name + ":");
        r.threadsAtMost().forEach((group, ms) -> line.append(String.format(Locale.ROOT, " %s %.1f,", group,
            ms * 1000.0 / Math.max(1, r.requestsAtMost()[0]))));
        out.println(line.substring(0, line.length() - 1));
      }
    });
    return rounds;
  }

  /** The table of medians and the two targets, PASS or FAIL, for plaintext and TLS. */
  static void report(Options options, Map<String, Rounds> rounds, PrintStream out) {
    out.println();
    out.printf(Locale.ROOT, "medians of %d rounds; fixed rate %d req/s for %d s, then wrk -t 2 -c %d for %d s%n",
        options.rounds(), options.rate(), options.round().toSeconds(), options.connections(),
        options.throughputRound().toSeconds());
    out.println("| ingress | p50 µs | p99 µs | p50 added over direct µs | ingress CPU µs/req at the rate | max req/s, "
        + options.connections() + " conns | ingress CPU µs/req at max | failed (rate + max) |");
    out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (Map.Entry<String, Rounds> entry : rounds.entrySet()) {
      Rounds r = entry.getValue();
      String direct = entry.getKey().endsWith("/tls") ? "direct/tls" : "direct/plain";
      boolean isDirect = entry.getKey().startsWith("direct/");
      out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %s | %s | %,.0f | %s | %d + %d |%n", entry.getKey(), median(r.p50()),
          median(r.p99()), isDirect ? "—" : String.format(Locale.ROOT, "%.1f", median(r.p50()) - median(rounds.get(direct).p50())),
          isDirect ? "—" : String.format(Locale.ROOT, "%.1f", median(r.cpuAtRate())), median(r.throughput()),
          isDirect ? "—" : String.format(Locale.ROOT, "%.1f", median(r.cpuAtMost())), r.failures()[0], r.failures()[1]);
    }
    out.println();
    for (String transport : List.of("plain", "tls")) {
      Rounds direct = rounds.get("direct/" + transport);
      Rounds gateway = rounds.get("mesh-gateway/" + transport);
      Rounds haproxy = rounds.get("haproxy/" + transport);
      double gatewayAdded = median(gateway.p50()) - median(direct.p50());
      double haproxyAdded = median(haproxy.p50()) - median(direct.p50());
      double share = median(gateway.throughput()) / median(haproxy.throughput());
      LoopbackHarness.target(out, transport, "p50 added over direct: mesh-gateway against HAProxy",
          String.format(Locale.ROOT, "%.1f µs against %.1f µs", gatewayAdded, haproxyAdded), "≤ HAProxy's",
          gatewayAdded <= haproxyAdded);
      LoopbackHarness.target(out, transport, "max throughput at " + options.connections() + " connections, share of HAProxy's",
          String.format(Locale.ROOT, "%.0f%%", 100 * share), "≥ 70%", share >= 0.7);
    }
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** A trust manager that trusts only the ingresses' generated certificate. */
  private static X509TrustManager trusting(Path certificate) throws Exception {
    X509Certificate cert;
    try (var in = Files.newInputStream(certificate)) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    store.setCertificateEntry("ingress", cert);
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    return (X509TrustManager) factory.getTrustManagers()[0];
  }
}
