package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The real parts on loopback: mesh-control with a config directory, MockWebServer backends that
 * register themselves as versions of {@code reviews}, and a {@link Mesh} with its OkHttp client.
 */
final class HttpMesh implements AutoCloseable {
  static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: reviews
      spec:
        host: reviews
        subsets:
        - name: v1
          labels:
            version: v1
        - name: v2
          labels:
            version: v2
        - name: v3
          labels:
            version: v3
      """;

  final Path configDir;
  MeshControl control;
  private int xdsPort;
  private int readOnlyPort;
  private final Path dataDir;
  final List<HttpBackend> backends = new ArrayList<>();
  final List<AutoCloseable> closeables = new ArrayList<>();

  HttpMesh(Path configDir) throws IOException {
    this(configDir, 0);
  }

  HttpMesh(Path configDir, int xdsPort) throws IOException {
    this(configDir, xdsPort, 0);
  }

  HttpMesh(Path configDir, int xdsPort, int readOnlyPort) throws IOException {
    this.configDir = configDir;
    this.readOnlyPort = readOnlyPort;
    // the CA's root lives here, so that a restarted mesh-control is the same mesh to its workloads
    this.dataDir = Files.createTempDirectory("inmesh-test-data");
    startControl(xdsPort);
  }

  /** Starts mesh-control, on the same read-only port as before when it restarts, so that clients find it again. */
  void startControl(int port) throws IOException {
    control = MeshControl.start(MeshControlOptions.ephemeral().withPorts(port, 0).withXdsReadOnlyPort(readOnlyPort)
        .withDataDir(dataDir)
        .withConfigDir(configDir).withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)));
    xdsPort = control.xdsPort();
    readOnlyPort = control.xdsReadOnlyPort().getAsInt();
  }

  /** How workloads reach this mesh-control: mutual TLS with certificates from its CA, or its read-only port. */
  dev.inmesh.testing.ControlPlaneAccess access() {
    return access(control);
  }

  /**
   * A Mesh of {@code namespace} running as {@code serviceAccount}, with a certificate from
   * {@code control}'s CA when it has one: mesh-control's xDS port is mutual TLS.
   */
  static Mesh.Builder withIdentity(Mesh.Builder builder, MeshControl control, String namespace, String serviceAccount) {
    builder.namespace(namespace).serviceAccount(serviceAccount);
    control.ca().ifPresent(authority -> builder.certificateAuthority("127.0.0.1:" + control.caGrpcPort(),
        authority.trustBundle().toPem(), authority.joinTokens().create(namespace, serviceAccount, Duration.ofMinutes(10)).value()));
    return builder;
  }

  static dev.inmesh.testing.ControlPlaneAccess access(MeshControl control) {
    var ca = control.ca().map(authority -> new dev.inmesh.testing.ControlPlaneAccess.Ca("127.0.0.1:" + control.caGrpcPort(),
        authority.trustBundle().toPem(),
        (namespace, account) -> authority.joinTokens().create(namespace, account, Duration.ofMinutes(10)).value()));
    java.util.Optional<String> readOnly = control.xdsReadOnlyPort().isPresent()
        ? java.util.Optional.of("127.0.0.1:" + control.xdsReadOnlyPort().getAsInt()) : java.util.Optional.empty();
    return new dev.inmesh.testing.ControlPlaneAccess("127.0.0.1:" + control.xdsPort(), readOnly, ca);
  }

  int xdsPort() {
    return xdsPort;
  }

  String xdsAddress() {
    return "127.0.0.1:" + xdsPort;
  }

  HttpBackend backend(String version) throws IOException {
    HttpBackend backend = new HttpBackend(access(), List.of(xdsAddress()), "reviews", 9080, version);
    backends.add(backend);
    return backend;
  }

  Mesh client() {
    return client(Duration.ofSeconds(10));
  }

  /** A backend of {@code reviews} that runs in {@code locality}. */
  HttpBackend backend(String version, dev.inmesh.Locality locality) throws IOException {
    HttpBackend backend = new HttpBackend(access(), List.of(xdsAddress()), "reviews", 9080, version, locality);
    backends.add(backend);
    return backend;
  }

  /** A client that runs in {@code locality}. */
  Mesh client(dev.inmesh.Locality locality) {
    Mesh mesh = withIdentity(Mesh.builder().controlServers(xdsAddress()), control, "default", "default")
        .locality(locality).readyTimeout(Duration.ofSeconds(10)).build();
    closeables.add(mesh);
    return mesh;
  }

  /** A client whose meters go to {@code registry}. */
  Mesh client(io.micrometer.core.instrument.MeterRegistry registry) {
    Mesh mesh = withIdentity(Mesh.builder().controlServers(xdsAddress()), control, "default", "default")
        .meterRegistry(registry).build();
    closeables.add(mesh);
    return mesh;
  }

  Mesh client(Duration readyTimeout) {
    Mesh mesh = withIdentity(Mesh.builder().controlServers(xdsAddress()), control, "default", "default")
        .readyTimeout(readyTimeout).build();
    closeables.add(mesh);
    return mesh;
  }

  /** Writes a config file and waits until mesh-control has read it and every client holds it. */
  void write(String file, String yaml) {
    writeWithoutWaitingForClients(file, yaml);
    await(control::converged, Duration.ofSeconds(15), "every client to ACK the new config");
  }

  /** Writes a config file and waits until mesh-control has read it; for configs clients NACK. */
  void writeWithoutWaitingForClients(String file, String yaml) {
    writeFile(file, yaml);
    control.rescan();
  }

  void writeFile(String file, String yaml) {
    try {
      Files.writeString(configDir.resolve(file), yaml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void awaitWorkloads(int count) {
    await(() -> control.workloads().size() == count, Duration.ofSeconds(10), count + " registered workloads");
  }

  /** GET a URL and return "status body-prefix", never throwing. */
  static String get(OkHttpClient client, String url, Map<String, String> headers) {
    Request.Builder request = new Request.Builder().url(url);
    headers.forEach(request::header);
    try (Response response = client.newCall(request.build()).execute()) {
      String body = response.body().string();
      return response.code() == 200 ? body.split(" ")[0] : Integer.toString(response.code());
    } catch (IOException e) {
      return "IOException: " + e.getMessage();
    }
  }

  static Map<String, Integer> split(OkHttpClient client, String url, int calls, Map<String, String> headers) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      counts.merge(get(client, url, headers), 1, Integer::sum);
    }
    return counts;
  }

  static void awaitAnswer(OkHttpClient client, String url, String answer, Map<String, String> headers) {
    await(() -> get(client, url, headers).equals(answer), Duration.ofSeconds(15), "an answer '" + answer + "' from " + url);
  }

  static void await(Supplier<Boolean> condition, Duration timeout, String what) {
    dev.inmesh.testing.Await.until(condition::get, timeout, what);
  }

  /** A server-side TLS context from a workload's certificate that takes any mesh peer. */
  static javax.net.ssl.SSLContext serverContext(dev.inmesh.internal.security.CertificateManager certificates) throws Exception {
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(new javax.net.ssl.KeyManager[] {certificates.keyManager()},
        new javax.net.ssl.TrustManager[] {new dev.inmesh.internal.security.SpiffeTrustManager(certificates::trustAnchors,
            peer -> true, java.time.Clock.systemUTC())}, null);
    return context;
  }

  static int freePort() throws IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static void sleep(Duration duration) {
    dev.inmesh.testing.Await.sleep(duration);
  }

  @Override
  public void close() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    for (HttpBackend backend : backends) {
      backend.close();
    }
    control.close();
    try (var files = Files.walk(dataDir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
    }
  }
}
