package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.testing.OpensslPki;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIMatcher;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.TrustManagerFactory;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Istio's egress TLS origination: the app calls {@code http://api.partner.example}, a ServiceEntry
 * names it, a DestinationRule says SIMPLE or MUTUAL, and the Inmesh client speaks TLS itself to an
 * HTTPS MockWebServer whose certificate comes from a CA of its own (made with openssl).
 */
class TlsOriginationIT {
  private static final String HOST = "api.partner.example";

  @TempDir
  Path configDir;
  @TempDir
  Path pki;
  HttpMesh mesh;
  OpensslPki partnerCa;
  MockWebServer partner;
  final Queue<String> serverNames = new ConcurrentLinkedQueue<>();
  OkHttpClient client;

  @BeforeEach
  void start() throws Exception {
    Files.createDirectories(pki.resolve("partner"));
    partnerCa = OpensslPki.create(pki.resolve("partner"));
    mesh = new HttpMesh(configDir);
    Mesh app = mesh.client();
    app.awaitReady(java.time.Duration.ofSeconds(10));
    client = MeshHttp.client(app);
  }

  @AfterEach
  void stop() throws Exception {
    if (partner != null) {
      partner.close();
    }
    mesh.close();
  }

  @Test
  void simpleOriginatesHttpsToTheExternalHostWithItsNameAsSni() throws Exception {
    startPartner(partnerCa.serverFor(HOST), false);
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
        """.formatted(partnerCa.caCertificate()));

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(200);
      assertThat(response.body().string()).isEqualTo("partner over TLS");
    }
    RecordedRequest recorded = partner.takeRequest(5, TimeUnit.SECONDS);
    assertThat(recorded.getHandshake()).as("the request arrived over TLS").isNotNull();
    assertThat(recorded.getHandshake().peerCertificates()).as("SIMPLE presents no client certificate").isEmpty();
    assertThat(recorded.getUrl().encodedPath()).isEqualTo("/status");
    assertThat(recorded.getUrl().host()).as("the Host the app called").isEqualTo(HOST);
    assertThat(serverNames).as("auto SNI: the request's host").containsOnly(HOST);
  }

  @Test
  void theConfiguredSniIsSentInsteadOfTheHost() throws Exception {
    startPartner(partnerCa.serverFor("edge.partner.example"), false);
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
          sni: edge.partner.example
          subjectAltNames: [edge.partner.example]
        """.formatted(partnerCa.caCertificate()));

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(200);
    }
    assertThat(serverNames).containsOnly("edge.partner.example");
  }

  @Test
  void aServerFromAnotherCaFailsTheCallWithATlsError() throws Exception {
    Files.createDirectories(pki.resolve("other"));
    OpensslPki otherCa = OpensslPki.create(pki.resolve("other"));
    startPartner(otherCa.serverFor(HOST), false);
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
        """.formatted(partnerCa.caCertificate()));

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.header(dev.inmesh.internal.outbound.OutboundPipeline.FLAGS_HEADER)).isEqualTo("UF");
      assertThat(response.body().string()).contains("connection failure").contains("TLS error")
          .contains("does not chain with any of the trust anchors");
    }
    assertThat(partner.getRequestCount()).as("no request reached a server we do not trust").isZero();
  }

  @Test
  void mutualPresentsTheClientCertificateFromItsFiles() throws Exception {
    OpensslPki.Pair clientCertificate = partnerCa.client("inmesh-app");
    startPartner(partnerCa.serverFor(HOST), true);
    apply("""
        tls:
          mode: MUTUAL
          caCertificates: %s
          clientCertificate: %s
          privateKey: %s
        """.formatted(partnerCa.caCertificate(), clientCertificate.certificate(), clientCertificate.key()));

    try (Response response = call("/orders")) {
      assertThat(response.code()).isEqualTo(200);
    }
    RecordedRequest recorded = partner.takeRequest(5, TimeUnit.SECONDS);
    X509Certificate presented = (X509Certificate) recorded.getHandshake().peerCertificates().get(0);
    assertThat(presented.getSubjectX500Principal().getName()).isEqualTo("CN=inmesh-app");
  }

  @Test
  void aServerWithoutTheListedSubjectAltNameIsRefused() throws Exception {
    startPartner(partnerCa.serverFor(HOST), false);
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
          subjectAltNames: [billing.partner.example]
        """.formatted(partnerCa.caCertificate()));

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).contains("none of subjectAltNames [billing.partner.example]");
    }
    assertThat(partner.getRequestCount()).isZero();
  }

  @Test
  void withoutSubjectAltNamesTheServerMustNameTheHostAsIstioVerifiesIt() throws Exception {
    startPartner(partnerCa.serverFor("someone-else.example"), false);
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
        """.formatted(partnerCa.caCertificate()));

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).contains("not the host " + HOST);
    }
  }

  @Test
  void aServerCertificateListedInCaCrlIsRefusedFromTheNextConnection() throws Exception {
    OpensslPki.Pair server = partnerCa.serverFor(HOST);
    startPartner(server, false);
    Path crl = partnerCa.crl();
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
          caCrl: %s
        """.formatted(partnerCa.caCertificate(), crl));
    try (Response response = call("/status")) {
      assertThat(response.code()).as("a CRL that does not list the server").isEqualTo(200);
    }

    partnerCa.crl(server);

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).contains("is revoked by caCrl");
    }
  }

  @Test
  void aMissingFileFailsTheCallsNamingItWhileTheClientStillTakesTheConfig() throws Exception {
    startPartner(partnerCa.serverFor(HOST), false);
    Path missing = pki.resolve("nowhere/ca.pem");
    apply("""
        tls:
          mode: SIMPLE
          caCertificates: %s
        """.formatted(missing));

    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).contains("cannot read caCertificates " + missing);
    }
    // the file appears: the next call reads it
    Files.createDirectories(missing.getParent());
    Files.copy(partnerCa.caCertificate(), missing);
    try (Response response = call("/status")) {
      assertThat(response.code()).isEqualTo(200);
    }
  }

  /** Writes the ServiceEntry and a DestinationRule with {@code tls}, and waits until the client holds them. */
  private void apply(String tls) {
    mesh.write("partner.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: partner
        spec:
          hosts: [%s]
          location: MESH_EXTERNAL
          ports:
          - number: 80
            name: http
            protocol: HTTP
            targetPort: %d
          resolution: STATIC
          endpoints:
          - address: 127.0.0.1
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: partner
        spec:
          host: %s
          trafficPolicy:
            portLevelSettings:
            - port:
                number: 80
        %s""".formatted(HOST, partner.getPort(), HOST, tls.indent(6)));
  }

  private Response call(String path) throws IOException {
    return client.newCall(new Request.Builder().url("http://" + HOST + path).build()).execute();
  }

  /** An HTTPS server with {@code certificate}, recording the SNI each handshake brings. */
  private void startPartner(OpensslPki.Pair certificate, boolean requireClientCertificate) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("server", key(certificate.key()), new char[0], chain(certificate.certificate()).toArray(new Certificate[0]));
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, new char[0]);
    KeyStore roots = KeyStore.getInstance("PKCS12");
    roots.load(null, null);
    roots.setCertificateEntry("ca", chain(partnerCa.caCertificate()).get(0));
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(roots);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);
    partner = new MockWebServer();
    partner.useHttps(new RecordingSni(context.getSocketFactory(), serverNames));
    if (requireClientCertificate) {
      partner.requireClientAuth();
    }
    for (int i = 0; i < 4; i++) {
      partner.enqueue(new MockResponse.Builder().body("partner over TLS").build());
    }
    partner.start(InetAddress.getByName("127.0.0.1"), 0);
  }

  private static List<X509Certificate> chain(Path pem) throws Exception {
    try (var in = Files.newInputStream(pem)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in).stream().map(c -> (X509Certificate) c).toList();
    }
  }

  private static PrivateKey key(Path pem) throws Exception {
    String text = Files.readString(pem, StandardCharsets.US_ASCII)
        .replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "");
    return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(text)));
  }

  /** Server sockets that note the host name a client sends as SNI. */
  private static final class RecordingSni extends SSLSocketFactory {
    private final SSLSocketFactory delegate;
    private final Queue<String> names;

    RecordingSni(SSLSocketFactory delegate, Queue<String> names) {
      this.delegate = delegate;
      this.names = names;
    }

    private Socket recording(Socket socket) {
      SSLSocket ssl = (SSLSocket) socket;
      SSLParameters parameters = ssl.getSSLParameters();
      parameters.setSNIMatchers(List.of(new SNIMatcher(StandardConstants.SNI_HOST_NAME) {
        @Override
        public boolean matches(SNIServerName name) {
          names.add(((SNIHostName) name).getAsciiName());
          return true;
        }
      }));
      ssl.setSSLParameters(parameters);
      return ssl;
    }

    @Override
    public Socket createSocket(Socket socket, String host, int port, boolean autoClose) throws IOException {
      return recording(delegate.createSocket(socket, host, port, autoClose));
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return delegate.getSupportedCipherSuites();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return recording(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return recording(delegate.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return recording(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
      return recording(delegate.createSocket(address, port, localAddress, localPort));
    }
  }
}
