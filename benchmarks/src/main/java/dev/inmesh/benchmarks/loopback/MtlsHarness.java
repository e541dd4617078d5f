package dev.inmesh.benchmarks.loopback;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.internal.inbound.InboundMetrics;
import dev.inmesh.internal.security.Credentials;
import dev.inmesh.testing.Await;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.HdrHistogram.Histogram;

/**
 * Mutual TLS (P7) and start-up (P11). Two Inmesh HTTP servers behind their doors answer 1 KB:
 * {@code echo} is called over the mesh's mutual TLS (auto-mTLS, pooled connections),
 * {@code echoplain} in plaintext (a DestinationRule with {@code tls: DISABLE}); an open-loop run
 * alternates them after an alternating warm-up and compares their p50s, and reports each round's
 * CPU and how many connections the mTLS door took in it. Handshakes per second are a client
 * opening a new mTLS connection for every call ({@code Connection: close}), next to
 * {@code openssl s_time} against the same door with the same workload certificate. Start-up is
 * one round of {@link StartupHarness}: a new JVM that builds a Mesh with a CA and makes one routed
 * mTLS call, as it is and with an AppCDS archive, and the same app's plain OkHttp call.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.MtlsHarness [seconds] [rounds] [warm-up rounds]}
 */
public final class MtlsHarness {
  private MtlsHarness() {}

  /**
   * What one run measured; latencies are open-loop p50s over every measured round.
   *
   * @param mtlsP50Micros from the paired rounds, where the variants take turns request by request
   * @param sequentialMtlsP50Micros from the rounds where each variant has 5-s windows of its own, alternating
   * @param startupMillis JVM start to the first routed mTLS call's answer; -1 when the probe failed
   * @param cdsStartupMillis the same with an AppCDS archive of the probe's classes; -1 when none could be made
   * @param plainStartupMillis the baseline: JVM start to the answer of one plain OkHttp call, without Inmesh
   */
  public record Result(double mtlsP50Micros, double plainP50Micros, double sequentialMtlsP50Micros,
      double sequentialPlainP50Micros, long failures, double handshakesPerSecond,
      double opensslHandshakesPerSecond, long startupMillis, long cdsStartupMillis, long plainStartupMillis) {
    public double addedMicros() {
      return mtlsP50Micros - plainP50Micros;
    }

    public double sequentialAddedMicros() {
      return sequentialMtlsP50Micros - sequentialPlainP50Micros;
    }
  }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int warmUp = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    Result result = run(Duration.ofSeconds(seconds), rounds, warmUp, System.out);
    System.out.println();
    LoopbackHarness.target(System.out, "P7", "pooled mTLS over plaintext, added p50",
        String.format(Locale.ROOT, "%.1f µs paired (%.1f µs in rounds of their own); %,.0f handshakes/s (openssl s_time: %,.0f/s)",
            result.addedMicros(), result.sequentialAddedMicros(), result.handshakesPerSecond(), result.opensslHandshakesPerSecond()), "≤ 15 µs", result.addedMicros() <= 15);
    LoopbackHarness.target(System.out, "P11", "JVM start to the first routed mTLS call", result.startupMillis()
        + " ms (with AppCDS: " + result.cdsStartupMillis() + " ms; plain OkHttp's first call: " + result.plainStartupMillis()
        + " ms)", "≤ 1 s",
        result.startupMillis() >= 0 && result.startupMillis() <= 1000);
    // the servers' HTTP executors and OkHttp's threads would keep the JVM up a while
    System.exit(0);
  }

  /** One measured variant: its calls, its door, and what its rounds added up to. */
  private static final class Variant {
    final String name;
    final Load.Call call;
    final Served server;
    final Histogram latencies = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
    final Histogram pairedLatencies = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
    final Map<String, Long> cpuByThreads = new TreeMap<>();
    long requests;
    long failures;

    Variant(String name, Load.Call call, Served server) {
      this.name = name;
      this.call = call;
      this.server = server;
    }
  }

  /** @param warmUp rounds of every variant, alternating, before the measured ones */
  public static Result run(Duration round, int rounds, int warmUp, PrintStream out) throws Exception {
    Path dir = Files.createTempDirectory("inmesh-mtls-");
    ExecutorService workers = Load.workers();
    List<AutoCloseable> closing = new ArrayList<>();
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral())) {
      CertificateAuthority ca = control.ca().orElseThrow();
      String caTarget = "127.0.0.1:" + control.caGrpcPort();
      String root = ca.trustBundle().toPem();
      Echoes echoes = echoes(control, closing);
      Served echo = echoes.mtls();
      Served echoplain = echoes.plain();
      // every Mesh records its metrics in a registry of its own, as an app that exports them does (the
      // default, Micrometer's global registry, records nothing until the app adds a registry to it)
      Mesh client = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default")
          .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
          .serviceAccount("bench").certificateAuthority(caTarget, root, token(ca, "bench")).build();
      closing.add(client);
      Await.until(() -> control.workloads().size() == 2, Duration.ofSeconds(10), "echo and echoplain to register");
      client.awaitReady(Duration.ofSeconds(10));
      Await.until(control::converged, Duration.ofSeconds(10), "every client to ACK");
      OkHttpClient http = MeshHttp.client(client);
      Variant mtls = new Variant("mTLS", get(http, "http://echo:9080/"), echo);
      Variant plain = new Variant("plaintext", get(http, "http://echoplain:9080/"), echoplain);
      List<Variant> variants = List.of(mtls, plain);
      for (Variant variant : variants) {
        variant.call.run();
      }

      // warm-up, alternating as the measured rounds do: the JIT compiles every path and settles
      // before anything is measured (the first measured round still shows what is left of it)
      for (int i = 0; i < warmUp; i++) {
        for (Variant variant : variants) {
          Load.openLoop(variant.call, 1000, round, workers);
        }
      }
      for (int i = 1; i <= rounds; i++) {
        StringBuilder line = new StringBuilder("round " + i + ":");
        for (Variant variant : variants) {
          double connections = variant.server.connections();
          long cpu = LoopbackHarness.processCpuMillis();
          ThreadCpu threads = ThreadCpu.now();
          Load.Run run = Load.openLoop(variant.call, 1000, round, workers);
          cpu = LoopbackHarness.processCpuMillis() - cpu;
          Map<String, Long> byThreads = ThreadCpu.now().since(threads, ThreadCpu::group);
          long jit = byThreads.getOrDefault(ThreadCpu.JIT, 0L);
          byThreads.forEach((group, millis) -> variant.cpuByThreads.merge(group, millis, Long::sum));
          variant.requests += run.requests();
          variant.latencies.add(run.latencies());
          variant.failures += run.failures();
          line.append(String.format(Locale.ROOT, "  %s p50 %.1f µs, %d ms CPU (JIT %d ms), %.0f new connections;",
              variant.name, run.latencies().getValueAtPercentile(50) / 1000.0, cpu, jit,
              variant.server.connections() - connections));
        }
        out.println(line);
      }
      // the same comparison with the two variants taking turns request by request in the same
      // rounds: each sees the same moments of the box, whose drift from one 5-s window to the next
      // (p50s of one variant move by tens of µs between its rounds) the alternating rounds above
      // cannot separate from what mTLS adds
      for (int i = 1; i <= rounds; i++) {
        List<Load.Run> runs = Load.openLoop(List.of(mtls.call, plain.call), 1000, round, workers);
        StringBuilder line = new StringBuilder("paired round " + i + ":");
        for (int v = 0; v < variants.size(); v++) {
          Variant variant = variants.get(v);
          Load.Run run = runs.get(v);
          variant.pairedLatencies.add(run.latencies());
          variant.failures += run.failures();
          line.append(String.format(Locale.ROOT, "  %s p50 %.1f µs;", variant.name,
              run.latencies().getValueAtPercentile(50) / 1000.0));
        }
        line.append(String.format(Locale.ROOT, "  mTLS adds %.1f µs",
            (runs.get(0).latencies().getValueAtPercentile(50) - runs.get(1).latencies().getValueAtPercentile(50)) / 1000.0));
        out.println(line);
      }
      out.println(ThreadCpu.perRequest("mTLS", mtls.cpuByThreads, mtls.requests, "plaintext", plain.cpuByThreads,
          plain.requests));
      // OkHttp's pool clean-up, after every call, visits every connection its pool holds
      out.printf(Locale.ROOT, "connections each door took since the start: mTLS %.0f, plaintext %.0f%n",
          mtls.server.connections(), plain.server.connections());

      // a new connection, and so a full mTLS handshake, for every call: the server closes each one
      Load.Call handshake = get(http, new Request.Builder().url("http://echo:9080/").header("Connection", "close").build());
      long calls = 0;
      long start = System.nanoTime();
      long end = start + round.toNanos();
      while (System.nanoTime() < end) {
        handshake.run();
        calls++;
      }
      double handshakes = calls / ((System.nanoTime() - start) / 1e9);
      double openssl = opensslHandshakes(dir, client, root, echo.port(), round, out);
      out.printf(Locale.ROOT, "a new mTLS connection per call: %,.0f calls/s; openssl s_time: %,.0f handshakes/s%n",
          handshakes, openssl);

      StartupHarness.Result startup = StartupHarness.measure(control, echoplain, 1, dir, out);
      return new Result(mtls.pairedLatencies.getValueAtPercentile(50) / 1000.0,
          plain.pairedLatencies.getValueAtPercentile(50) / 1000.0, mtls.latencies.getValueAtPercentile(50) / 1000.0,
          plain.latencies.getValueAtPercentile(50) / 1000.0, mtls.failures + plain.failures, handshakes, openssl, startup.mesh(), startup.cds(), startup.plain());
    } finally {
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
      workers.shutdownNow();
    }
  }

  /** A workload behind its door; {@link #connections()} counts the connections its door took. */
  record Served(Mesh mesh, MeshHttpServer server, ExecutorService handlers) implements AutoCloseable {
    int port() {
      return server.port();
    }

    double connections() {
      return mesh.meterRegistry().find(InboundMetrics.CONNECTIONS).counters().stream().mapToDouble(c -> c.count()).sum();
    }

    @Override
    public void close() {
      server.close();
      handlers.shutdownNow();
      mesh.close();
    }
  }

  /** The two workloads: {@code echo}, called over mutual TLS, and {@code echoplain}, in plaintext. */
  record Echoes(Served mtls, Served plain) {}

  /** Starts both echo workloads behind their doors (closed with {@code closing}) and the DestinationRule that makes one plaintext. */
  static Echoes echoes(MeshControl control, List<AutoCloseable> closing) throws IOException {
    CertificateAuthority ca = control.ca().orElseThrow();
    Served echo = server(control, ca, "echo", LoopbackHarness.freePort());
    closing.add(echo);
    Served echoplain = server(control, ca, "echoplain", LoopbackHarness.freePort());
    closing.add(echoplain);
    ApplyResult applied = control.apply("benchmark", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: echoplain, namespace: default}
        spec:
          host: echoplain
          trafficPolicy: {tls: {mode: DISABLE}}
        """);
    if (!applied.errors().isEmpty()) {
      throw new IllegalStateException(applied.errors().toString());
    }
    return new Echoes(echo, echoplain);
  }

  private static Served server(MeshControl control, CertificateAuthority ca, String service, int port) throws IOException {
    Mesh mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default").service(service)
        .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
        .serviceAccount(service).servePort("http", 9080, port)
        .certificateAuthority("127.0.0.1:" + control.caGrpcPort(), ca.trustBundle().toPem(), token(ca, service)).build();
    MeshHttpServer server = MeshHttpServer.create(mesh, port);
    byte[] body = External.BODY.getBytes(StandardCharsets.UTF_8);
    server.createContext("/", exchange -> {
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    ExecutorService handlers = Executors.newFixedThreadPool(8, Load.named("handler-" + service));
    server.setExecutor(handlers);
    server.start();
    return new Served(mesh, server, handlers);
  }

  static String token(CertificateAuthority ca, String serviceAccount) {
    return ca.joinTokens().create("default", serviceAccount, Duration.ofHours(1)).value();
  }

  /** {@code openssl s_time -new} against the echo door with the client's workload certificate. */
  private static double opensslHandshakes(Path dir, Mesh client, String root, int port, Duration time, PrintStream out)
      throws IOException, InterruptedException, CertificateEncodingException {
    Credentials credentials = client.certificates().orElseThrow().credentials().orElseThrow();
    Path key = dir.resolve("client.key");
    Path cert = dir.resolve("client.pem");
    Path ca = dir.resolve("root.pem");
    Files.writeString(key, pem("PRIVATE KEY", credentials.key().getEncoded()));
    StringBuilder chain = new StringBuilder();
    for (X509Certificate certificate : credentials.chain()) {
      chain.append(pem("CERTIFICATE", certificate.getEncoded()));
    }
    Files.writeString(cert, chain);
    Files.writeString(ca, root);
    Process process = new ProcessBuilder("openssl", "s_time", "-connect", "127.0.0.1:" + port, "-new",
        "-time", Long.toString(Math.max(1, time.toSeconds())), "-cert", cert.toString(), "-key", key.toString())
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor();
    Matcher matcher = Pattern.compile("(\\d+) connections in ([\\d.]+)s").matcher(output);
    if (!matcher.find()) {
      out.println("openssl s_time gave no figure: " + output.lines().limit(5).toList());
      return 0;
    }
    return Long.parseLong(matcher.group(1)) / Double.parseDouble(matcher.group(2));
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  private static Load.Call get(OkHttpClient client, String url) {
    return get(client, new Request.Builder().url(url).build());
  }

  private static Load.Call get(OkHttpClient client, Request request) {
    String url = request.url().toString();
    return () -> {
      try (Response response = client.newCall(request).execute()) {
        String body = response.body().string();
        if (response.code() != 200 || body.length() != External.BODY.length()) {
          throw new IOException(url + " answered " + response.code() + " " + body.lines().findFirst().orElse(""));
        }
      }
    };
  }
}
