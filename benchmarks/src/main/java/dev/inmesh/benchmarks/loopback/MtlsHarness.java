package dev.inmesh.benchmarks.loopback;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.security.Credentials;
import dev.inmesh.testing.Await;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.HdrHistogram.Histogram;

/**
 * Mutual TLS (P7) and start-up (P11). Two Inmesh HTTP servers behind their doors answer 1 KB:
 * {@code echo} is called over the mesh's mutual TLS (auto-mTLS, pooled connections),
 * {@code echoplain} in plaintext (a DestinationRule with {@code tls: DISABLE}); an open-loop run
 * alternates them and compares their p50. Handshakes per second are a client opening a new mTLS
 * connection for every call, next to {@code openssl s_time} against the same door with the same
 * workload certificate. Start-up is a new JVM that builds a Mesh with a CA and makes one routed
 * mTLS call; it reports its own uptime when the answer arrives.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.MtlsHarness [seconds] [rounds]}
 */
public final class MtlsHarness {
  private MtlsHarness() {}

  public record Result(double mtlsP50Micros, double plainP50Micros, long failures, double handshakesPerSecond,
      double opensslHandshakesPerSecond, long startupMillis) {
    public double addedMicros() {
      return mtlsP50Micros - plainP50Micros;
    }
  }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Result result = run(Duration.ofSeconds(seconds), rounds, System.out);
    System.out.println();
    LoopbackHarness.target(System.out, "P7", "pooled mTLS over plaintext, added p50",
        String.format(Locale.ROOT, "%.1f µs; %,.0f handshakes/s (openssl s_time: %,.0f/s)", result.addedMicros(),
            result.handshakesPerSecond(), result.opensslHandshakesPerSecond()), "≤ 15 µs", result.addedMicros() <= 15);
    LoopbackHarness.target(System.out, "P11", "JVM start to the first routed mTLS call", result.startupMillis() + " ms",
        "≤ 1 s", result.startupMillis() >= 0 && result.startupMillis() <= 1000);
  }

  public static Result run(Duration round, int rounds, PrintStream out) throws Exception {
    Path dir = Files.createTempDirectory("inmesh-mtls-");
    ExecutorService workers = Executors.newFixedThreadPool(64);
    List<AutoCloseable> closing = new ArrayList<>();
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral())) {
      CertificateAuthority ca = control.ca().orElseThrow();
      String caTarget = "127.0.0.1:" + control.caGrpcPort();
      String root = ca.trustBundle().toPem();
      int echoPort = LoopbackHarness.freePort();
      closing.add(server(control, ca, "echo", echoPort));
      closing.add(server(control, ca, "echoplain", LoopbackHarness.freePort()));
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
      Mesh client = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default")
          .serviceAccount("bench").certificateAuthority(caTarget, root, token(ca, "bench")).build();
      closing.add(client);
      Await.until(() -> control.workloads().size() == 2, Duration.ofSeconds(10), "echo and echoplain to register");
      client.awaitReady(Duration.ofSeconds(10));
      Await.until(control::converged, Duration.ofSeconds(10), "every client to ACK");
      OkHttpClient http = MeshHttp.client(client);
      Load.Call mtls = get(http, "http://echo:9080/");
      Load.Call plain = get(http, "http://echoplain:9080/");
      mtls.run();
      plain.run();

      Load.openLoop(mtls, 1000, Duration.ofSeconds(2), workers);
      Load.openLoop(plain, 1000, Duration.ofSeconds(2), workers);
      Histogram mtlsLatencies = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
      Histogram plainLatencies = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
      long failures = 0;
      for (int i = 1; i <= rounds; i++) {
        Load.Run a = Load.openLoop(mtls, 1000, round, workers);
        Load.Run b = Load.openLoop(plain, 1000, round, workers);
        mtlsLatencies.add(a.latencies());
        plainLatencies.add(b.latencies());
        failures += a.failures() + b.failures();
        out.printf(Locale.ROOT, "round %d: mTLS p50 %.1f µs, plaintext p50 %.1f µs%n", i,
            a.latencies().getValueAtPercentile(50) / 1000.0, b.latencies().getValueAtPercentile(50) / 1000.0);
      }

      // a new connection, and so a full mTLS handshake, for every call
      OkHttpClient fresh = MeshHttp.decorate(new OkHttpClient.Builder().connectionPool(new ConnectionPool(0, 1,
          TimeUnit.MILLISECONDS)), client).build();
      Load.Call handshake = get(fresh, "http://echo:9080/");
      long calls = 0;
      long end = System.nanoTime() + round.toNanos();
      long start = System.nanoTime();
      while (System.nanoTime() < end) {
        handshake.run();
        calls++;
      }
      double handshakes = calls / ((System.nanoTime() - start) / 1e9);
      double openssl = opensslHandshakes(dir, client, root, echoPort, round, out);
      out.printf(Locale.ROOT, "new mTLS connection per call: %,.0f calls/s; openssl s_time: %,.0f handshakes/s%n", handshakes,
          openssl);

      long startup = startup(control, ca, caTarget, root, out);
      return new Result(mtlsLatencies.getValueAtPercentile(50) / 1000.0, plainLatencies.getValueAtPercentile(50) / 1000.0,
          failures, handshakes, openssl, startup);
    } finally {
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
      workers.shutdownNow();
    }
  }

  private static AutoCloseable server(MeshControl control, CertificateAuthority ca, String service, int port) throws IOException {
    Mesh mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default").service(service)
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
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.start();
    return () -> {
      server.close();
      mesh.close();
    };
  }

  private static String token(CertificateAuthority ca, String serviceAccount) {
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

  /** A new JVM builds a Mesh with a CA and calls echo once over mTLS; its uptime at the answer, in ms. */
  private static long startup(MeshControl control, CertificateAuthority ca, String caTarget, String root, PrintStream out)
      throws IOException, InterruptedException {
    Path rootFile = Files.createTempFile("inmesh-root-", ".pem");
    Files.writeString(rootFile, root);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), StartupProbe.class.getName(),
        "127.0.0.1:" + control.xdsPort(), caTarget, rootFile.toString(), token(ca, "probe"))
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(60, TimeUnit.SECONDS);
    Matcher matcher = Pattern.compile("first routed mTLS call answered (\\d+) ms after JVM start").matcher(output);
    if (!matcher.find()) {
      out.println("the start-up probe failed: " + output.lines().filter(l -> !l.isBlank()).limit(10).toList());
      return -1;
    }
    out.println(output.lines().filter(l -> l.contains("first routed")).findFirst().orElse(""));
    return Long.parseLong(matcher.group(1));
  }

  private static Load.Call get(OkHttpClient client, String url) {
    Request request = new Request.Builder().url(url).build();
    return () -> {
      try (Response response = client.newCall(request).execute()) {
        if (response.code() != 200 || response.body().bytes().length != External.BODY.length()) {
          throw new IOException(url + " answered " + response.code());
        }
      }
    };
  }
}
