package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.SpiffeTrustManager;
import dev.inmesh.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * A real mesh-control with its embedded CA in this JVM, workloads that get their certificates from
 * it, and HTTP clients speaking plaintext or mesh mTLS: what the integration tests share.
 */
final class InboundFixture implements AutoCloseable {
  static final String NAMESPACE = "default";
  static final Duration WAIT = Duration.ofSeconds(20);

  final MeshControl control;
  private final String trustDomain;
  private final String rootPem;
  private final List<Mesh> meshes = new ArrayList<>();

  InboundFixture() throws IOException {
    this(MeshControlOptions.ephemeral());
  }

  InboundFixture(MeshControlOptions options) throws IOException {
    control = MeshControl.start(options.withPollInterval(Duration.ofMillis(100)));
    trustDomain = options.trustDomain();
    try {
      rootPem = "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
              .encodeToString(control.ca().orElseThrow().rootCertificate().getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Mesh.Builder withCertificate(Mesh.Builder builder, String serviceAccount) {
    return withCertificate(builder, NAMESPACE, serviceAccount);
  }

  private Mesh.Builder withCertificate(Mesh.Builder builder, String namespace, String serviceAccount) {
    String token = control.ca().orElseThrow().joinTokens().create(namespace, serviceAccount, Duration.ofMinutes(10)).value();
    return builder.certificateAuthority("127.0.0.1:" + control.caGrpcPort(), rootPem, token)
        .certificate(trustDomain, Duration.ofHours(24));
  }

  /** A workload of {@code service} listening on {@code port}, with a mesh certificate, ready. */
  Mesh server(String service, int port) {
    Mesh mesh = withCertificate(Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort())
        .service(service).serviceAccount(service).namespace(NAMESPACE).label("app", service)
        .servePort("http", 9080, port), service).build();
    meshes.add(mesh);
    mesh.awaitReady(WAIT);
    return mesh;
  }

  /** A pure client holding a certificate for {@code serviceAccount}. */
  Mesh client(String serviceAccount) {
    Mesh mesh = withCertificate(Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort())
        .serviceAccount(serviceAccount).namespace(NAMESPACE), serviceAccount).build();
    meshes.add(mesh);
    return mesh;
  }

  /** A pure client of another namespace, holding a certificate for {@code serviceAccount} there. */
  Mesh client(String namespace, String serviceAccount) {
    Mesh mesh = withCertificate(Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort())
        .serviceAccount(serviceAccount).namespace(namespace), namespace, serviceAccount).build();
    meshes.add(mesh);
    return mesh;
  }

  void apply(String yaml) {
    ApplyResult result = control.apply("test", yaml);
    assertThat(result.errors()).as("errors applying\n%s", yaml).isEmpty();
    assertThat(result.accepted()).isTrue();
  }

  void delete(String kind, String name) {
    control.delete("test", List.of(new ResourceKey(kind, NAMESPACE, name)));
  }

  /** Applies the namespace's PeerAuthentication and waits until {@code server} holds it for {@code port}. */
  void mtlsMode(Mesh server, int port, MtlsMode mode) {
    apply("""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: default
          namespace: default
        spec:
          mtls:
            mode: %s
        """.formatted(mode));
    awaitPolicy(server, port, p -> p.mode() == mode, "port " + port + " to be " + mode);
  }

  /**
   * Waits for a meter to reach {@code expected}: the server counts a request when its exchange ends,
   * which may come just after the client has read the answer.
   */
  static void awaitCount(java.util.function.DoubleSupplier actual, double expected, String what) {
    Await.until(() -> actual.getAsDouble() == expected, Duration.ofSeconds(5), what + " to be " + expected
        + " (is " + actual.getAsDouble() + ")");
  }

  static void awaitPolicy(Mesh server, int port, Predicate<InboundPolicy> condition, String what) {
    Await.until(() -> server.inbound(port).filter(condition).isPresent(), WAIT, what);
  }

  /** Speaks mesh mTLS with {@code client}'s certificate, trusting any SPIFFE server of its mesh. */
  static HttpClient mtlsHttp(Mesh client) {
    return tlsHttp(Optional.of(client), client);
  }

  /**
   * Speaks TLS presenting {@code certificate}'s certificate (none when empty), trusting the servers
   * of {@code trustFrom}'s mesh: so that the server, not the client, is the one to refuse.
   */
  static HttpClient tlsHttp(Optional<Mesh> certificate, Mesh trustFrom) {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(tls(certificate, trustFrom))
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Sockets that speak mesh mTLS with {@code client}'s certificate, for tests that need one connection per call. */
  static SSLSocketFactory mtlsSockets(Mesh client) {
    return tls(Optional.of(client), client).getSocketFactory();
  }

  private static SSLContext tls(Optional<Mesh> certificate, Mesh trustFrom) {
    CertificateManager trust = trustFrom.certificates().orElseThrow();
    KeyManager[] keys = certificate.map(m -> new KeyManager[] {m.certificates().orElseThrow().keyManager()}).orElse(null);
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys,
          new TrustManager[] {new SpiffeTrustManager(trust::trustAnchors, id -> true, Clock.systemUTC())}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static HttpClient plaintextHttp() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  }

  static HttpResponse<String> send(HttpClient http, String method, String url) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("x"))
        .build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public void close() {
    for (int i = meshes.size() - 1; i >= 0; i--) {
      meshes.get(i).close();
    }
    control.close();
  }
}
