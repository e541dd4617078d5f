package dev.inmesh.benchmarks.soak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.testing.EtcdCluster;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * A mesh as users run it, under steady load while things go wrong: mesh-control as its own process
 * (SIGKILLed and started again), three {@code echo} workloads (two v1, one v2) behind a client that
 * calls {@code echo} at a steady rate, a DENY policy on {@code /admin} applied through the API,
 * routes that change, a backend that dies, certificates with a short lifetime and a root rotation.
 * It counts calls made, failed and denied, and calls to {@code /admin} that were let through.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.soak.Soak [seconds] [embedded|etcd]}
 */
public final class Soak implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String NAMESPACE = "default";

  /** What happens when, as offsets from the start of the load. */
  public record Step(Duration at, String action) {}

  public record Options(Duration length, int callsPerSecond, boolean etcd, Duration certificateTtl, List<Step> steps) {
    /** mesh-control killed at a tenth of the way and back at two fifths, as the issue's run did. */
    public static Options restartOnly(Duration length, boolean etcd) {
      return new Options(length, 200, etcd, Duration.ofHours(1), List.of(
          new Step(length.dividedBy(10), "kill-control"),
          new Step(length.multipliedBy(2).dividedBy(5), "start-control")));
    }

    /** Everything: restarts, a dead backend, route changes, certificate renewals and a root rotation. */
    public static Options everything(Duration length, boolean etcd) {
      List<Step> steps = new ArrayList<>();
      long s = length.toSeconds();
      steps.add(new Step(Duration.ofSeconds(s / 10), "kill-control"));
      steps.add(new Step(Duration.ofSeconds(s / 5), "start-control"));
      steps.add(new Step(Duration.ofSeconds(s * 3 / 10), "rotate prepare"));
      steps.add(new Step(Duration.ofSeconds(s * 2 / 5), "kill-backend"));
      steps.add(new Step(Duration.ofSeconds(s / 2), "rotate activate"));
      steps.add(new Step(Duration.ofSeconds(s * 3 / 5), "kill-control"));
      steps.add(new Step(Duration.ofSeconds(s * 13 / 20), "start-control"));
      steps.add(new Step(Duration.ofSeconds(s * 4 / 5), "rotate retire"));
      for (long t = s / 8; t < s; t += Math.max(5, s / 12)) {
        steps.add(new Step(Duration.ofSeconds(t), "route " + (t % 2 == 0 ? 100 : 80)));
      }
      steps.sort(java.util.Comparator.comparing(Step::at));
      return new Options(length, 100, etcd, Duration.ofSeconds(Math.max(20, s / 6)), steps);
    }
  }

  /**
   * What the load saw. {@code wronglyAllowed}: calls to the denied path that got through.
   * {@code notRenewed}: workloads still on the certificate they held when mesh-control last
   * started, though they should have renewed since (one that cannot renew fails once it expires).
   */
  public record Report(long calls, long ok, long failed, long denied, long wronglyAllowed, long notRenewed,
      Map<String, Long> failures, List<String> timeline) {
    public void print(PrintStream out) {
      out.printf("calls %d, ok %d, failed %d, denied (as the policy says) %d, wrongly allowed %d, certificates not"
          + " renewed since the last restart %d%n", calls, ok, failed, denied, wronglyAllowed, notRenewed);
      failures.forEach((reason, count) -> out.printf("  failed %5d  %s%n", count, reason));
      timeline.forEach(line -> out.println("  " + line));
    }
  }

  private final Options options;
  private final Path dir;
  private final List<AutoCloseable> parts = new ArrayList<>();
  private final List<Mesh> meshes = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Map<Mesh, String> serialsAtStart = new ConcurrentHashMap<>();
  private final Map<String, MeshHttpServer> backends = new ConcurrentHashMap<>();
  private final Map<String, Mesh> backendMeshes = new ConcurrentHashMap<>();
  private final List<String> timeline = java.util.Collections.synchronizedList(new ArrayList<>());
  private final HttpClient admin = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final int xdsPort = freePort();
  private final int httpPort = freePort();
  private final int caGrpcPort = freePort();
  private final int caHttpsPort = freePort();
  private EtcdCluster etcd;
  private Process control;
  private String token;
  private long started;

  private Soak(Options options, Path dir) {
    this.options = options;
    this.dir = dir;
  }

  public static Report run(Options options, Path dir, PrintStream out) throws Exception {
    try (Soak soak = new Soak(options, dir)) {
      return soak.run(out);
    }
  }

  private Report run(PrintStream out) throws Exception {
    if (options.etcd()) {
      etcd = EtcdCluster.start(Files.createDirectories(dir.resolve("etcd")), 1);
    }
    startControl();
    String root = get("/apis/ca/root");
    applyPolicy();
    startBackend("echo-v1a", "v1");
    startBackend("echo-v1b", "v1");
    startBackend("echo-v2", "v2");
    Mesh client = mesh("caller", "v1", root, null);
    OkHttpClient http = MeshHttp.client(client).newBuilder().callTimeout(Duration.ofSeconds(5)).build();
    awaitRegistered(3);
    awaitServed(http);

    AtomicLong calls = new AtomicLong();
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong denied = new AtomicLong();
    AtomicLong wronglyAllowed = new AtomicLong();
    Map<String, Long> failures = new ConcurrentHashMap<>();
    ExecutorService callers = Executors.newFixedThreadPool(32);
    java.util.concurrent.ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    started = System.nanoTime();
    long periodMicros = 1_000_000L / options.callsPerSecond();
    ticker.scheduleAtFixedRate(() -> callers.execute(() -> {
      long n = calls.incrementAndGet();
      boolean adminCall = n % 10 == 0;
      Request request = new Request.Builder().url("http://echo:8080" + (adminCall ? "/admin" : "/hello")).build();
      try (Response response = http.newCall(request).execute()) {
        if (adminCall) {
          if (response.code() == 403) {
            denied.incrementAndGet();
          } else if (response.isSuccessful()) {
            wronglyAllowed.incrementAndGet();
            note("WRONGLY ALLOWED /admin: " + response.code());
          } else {
            failed.incrementAndGet();
            failures.merge("/admin " + response.code(), 1L, Long::sum);
          }
        } else if (response.isSuccessful()) {
          ok.incrementAndGet();
        } else {
          failures.merge("HTTP " + response.code() + " " + response.header("x-inmesh-refusal", ""), 1L, Long::sum);
          if (failed.incrementAndGet() <= 5) {
            note("failed: HTTP " + response.code() + " from " + response.body().string().strip());
          }
        }
      } catch (IOException | RuntimeException e) {
        failures.merge(e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replaceAll("\\d+", "#"),
            1L, Long::sum);
        if (failed.incrementAndGet() <= 5) {
          note("failed: " + e);
        }
      }
    }), 0, periodMicros, TimeUnit.MICROSECONDS);

    for (Step step : options.steps()) {
      sleepUntil(step.at());
      note(step.action());
      try {
        act(step.action());
      } catch (Exception e) {
        note(step.action() + " failed: " + e);
      }
    }
    sleepUntil(options.length());
    ticker.shutdownNow();
    callers.shutdown();
    callers.awaitTermination(10, TimeUnit.SECONDS);
    long notRenewed = serialsAtStart.entrySet().stream()
        .filter(e -> serial(e.getKey()).equals(e.getValue()))
        .count();
    Report report = new Report(calls.get(), ok.get(), failed.get(), denied.get(), wronglyAllowed.get(), notRenewed,
        new TreeMap<>(failures), List.copyOf(timeline));
    report.print(out);
    client.close();
    return report;
  }

  private void act(String action) throws Exception {
    String[] words = action.split(" ");
    switch (words[0]) {
      case "kill-control" -> {
        control.destroyForcibly();
        control.waitFor(10, TimeUnit.SECONDS);
      }
      case "start-control" -> {
        startControl();
        if (options.certificateTtl().compareTo(options.length()) < 0) {
          meshes.forEach(mesh -> serialsAtStart.put(mesh, serial(mesh)));
        }
      }
      case "kill-backend" -> {
        backends.remove("echo-v1b").stop(0);
        Mesh dead = backendMeshes.remove("echo-v1b");
        meshes.remove(dead);
        serialsAtStart.remove(dead);
        dead.close();
      }
      case "route" -> routeV1(Integer.parseInt(words[1]));
      case "rotate" -> post("/apis/ca/rotate", "{\"step\":\"" + words[1] + "\"}");
      default -> throw new IllegalArgumentException("no step " + action);
    }
  }

  private void note(String what) {
    timeline.add(String.format("%6.1f s  %s", (System.nanoTime() - started) / 1e9, what));
  }

  private void sleepUntil(Duration offset) throws InterruptedException {
    long wait = started + offset.toNanos() - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  private void startControl() throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-jar", controlJar().toString(),
        "--xds-port", String.valueOf(xdsPort), "--http-port", String.valueOf(httpPort),
        "--ca-grpc-port", String.valueOf(caGrpcPort), "--ca-https-port", String.valueOf(caHttpsPort),
        "--data-dir", dir.resolve("data").toString(), "--grace-period", "5s"));
    if (etcd == null) {
      command.addAll(List.of("--admin-credential", dir.resolve("credential").toString()));
    }
    if (etcd != null) {
      Path tokens = dir.resolve("api-tokens");
      if (!Files.exists(tokens)) {
        token = "soak-" + java.util.UUID.randomUUID();
        Files.writeString(tokens, "admin soak sha256:" + sha256(token) + "\n");
      }
      Path root = dir.resolve("root");
      if (!Files.exists(root)) {
        // replicas on etcd sign under a root they are given
        dev.inmesh.ca.CertificateAuthority.builder(dev.inmesh.ca.CaConfig.of("cluster.local", Files.createDirectories(root))).build();
      }
      command.addAll(List.of("--store", "etcd", "--etcd-endpoints", etcd.endpointsFlag(), "--api-tokens", tokens.toString(),
          "--ca-root-cert", root.resolve("root-cert.pem").toString(), "--ca-root-key", root.resolve("root-key.pem").toString()));
    }
    control = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("mesh-control.log").toFile())).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        if (admin.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/readyz")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
          if (token == null) {
            token = dev.inmesh.control.api.OperatorCredential.read(dir.resolve("credential")).token();
          }
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      if (!control.isAlive()) {
        List<String> log = Files.readAllLines(dir.resolve("mesh-control.log"));
        throw new IllegalStateException("mesh-control exited " + control.exitValue() + ": "
            + String.join("\n", log.subList(0, Math.min(log.size(), 3))));
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("mesh-control not ready in 60 s; see " + dir.resolve("mesh-control.log"));
  }

  /** mesh-control's standalone jar, as users run it: {@code -Dinmesh.control.jar}, or the build's. */
  private static Path controlJar() {
    String given = System.getProperty("inmesh.control.jar");
    if (given != null) {
      return Path.of(given);
    }
    for (Path candidate : List.of(Path.of("mesh-control", "target", "mesh-control.jar"),
        Path.of("..", "mesh-control", "target", "mesh-control.jar"))) {
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("no mesh-control.jar: build it (mvn -pl mesh-control package) or give -Dinmesh.control.jar");
  }

  private static String sha256(String token) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(token.getBytes(StandardCharsets.UTF_8)));
  }

  private void applyPolicy() throws Exception {
    post("/apis/apply", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: no-admin, namespace: default}
        spec:
          selector: {matchLabels: {app: echo}}
          action: DENY
          rules:
          - to:
            - operation: {paths: ["/admin"]}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: echo, namespace: default}
        spec:
          host: echo
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        """);
    routeV1(100);
  }

  private void routeV1(int weight) throws Exception {
    post("/apis/apply", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: echo, namespace: default}
        spec:
          hosts: [echo]
          http:
          - retries: {attempts: 2, retryOn: "connect-failure,refused-stream,unavailable,503"}
            route:
            - destination: {host: echo, subset: v1}
              weight: %d
            - destination: {host: echo, subset: v2}
              weight: %d
        """.formatted(weight, 100 - weight));
  }

  private void startBackend(String name, String version) throws Exception {
    int port = freePort();
    Mesh mesh = mesh("echo", version, get("/apis/ca/root"), new int[] {port});
    MeshHttpServer server = MeshHttpServer.create(mesh, port);
    server.createContext("/", exchange -> {
      byte[] body = (name + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.start();
    backends.put(name, server);
    backendMeshes.put(name, mesh);
  }

  private Mesh mesh(String service, String version, String root, int[] servePort) throws Exception {
    String account = service.equals("echo") ? "echo" : "caller";
    JsonNode created = JSON.readTree(post("/apis/tokens",
        "{\"namespace\":\"" + NAMESPACE + "\",\"serviceAccount\":\"" + account + "\",\"ttlSeconds\":3600}"));
    Mesh.Builder builder = Mesh.builder()
        .controlServers("127.0.0.1:" + xdsPort)
        .namespace(NAMESPACE).serviceAccount(account)
        .certificateAuthority("127.0.0.1:" + caGrpcPort, root, created.path("token").asText())
        .certificate("cluster.local", options.certificateTtl())
        .readyTimeout(Duration.ofSeconds(30))
        // to see what the hold is worth: -Dinmesh.soak.reconnectHold=0s
        .reconnectHold(Duration.parse("PT" + System.getProperty("inmesh.soak.reconnectHold", "30s").toUpperCase()));
    if (servePort != null) {
      builder.service(service).label("app", service).label("version", version).servePort("http", 8080, servePort[0]);
    }
    Mesh mesh = builder.build();
    parts.add(mesh);
    meshes.add(mesh);
    return mesh;
  }

  private static String serial(Mesh mesh) {
    return mesh.certificates().flatMap(dev.inmesh.internal.security.CertificateManager::credentials)
        .map(c -> c.chain().get(0).getSerialNumber().toString(16)).orElse("none");
  }

  private void awaitRegistered(int count) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (JSON.readTree(get("/debug/registry")).size() < count) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the backends did not register: " + get("/debug/registry"));
      }
      Thread.sleep(100);
    }
  }

  private static void awaitServed(OkHttpClient http) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Response response = http.newCall(new Request.Builder().url("http://echo:8080/hello").build()).execute()) {
        if (response.isSuccessful()) {
          return;
        }
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
      }
      Thread.sleep(100);
    }
  }

  private String get(String path) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response = admin.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("GET " + path + ": " + response.statusCode() + " " + response.body());
    }
    return response.body();
  }

  private String post(String path, String body) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", path.equals("/apis/apply") ? "application/yaml" : "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    HttpResponse<String> response = admin.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("POST " + path + ": " + response.statusCode() + " " + response.body());
    }
    return response.body();
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    backends.values().forEach(server -> server.stop(0));
    for (AutoCloseable part : parts) {
      try {
        part.close();
      } catch (Exception e) {
        // closing what is left; the report is already made
      }
    }
    if (control != null) {
      control.destroyForcibly();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  public static void main(String[] args) throws Exception {
    Duration length = Duration.ofSeconds(args.length > 0 ? Long.parseLong(args[0]) : 300);
    boolean etcd = args.length > 1 && args[1].equals("etcd");
    Path dir = Files.createTempDirectory("inmesh-soak");
    System.out.printf("soak: %s s, store %s, mesh-control logs in %s%n", length.toSeconds(), etcd ? "etcd" : "embedded", dir);
    Report report = run(Options.everything(length, etcd), dir, System.out);
    System.exit(report.failed() == 0 && report.wronglyAllowed() == 0 ? 0 : 1);
  }
}
