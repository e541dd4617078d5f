package dev.inmesh.examples.bookinfo;

import dev.inmesh.Mesh;
import dev.inmesh.gateway.GatewayOptions;
import dev.inmesh.gateway.MeshGateway;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Bookinfo's front door: Istio's ingress gateway as mesh-gateway, a workload of its own
 * ({@code istio-system/istio-ingressgateway}, labels {@code app: istio-ingressgateway} and
 * {@code istio: ingressgateway}) in the demo's JVM, listening on loopback. Gateway port 8080 is
 * served on the demo's HTTP port and 443 on its HTTPS port, with the certificate made at start for
 * {@code localhost} and {@code 127.0.0.1} as the credential {@value #CREDENTIAL} in a credentials
 * directory of its own. It registers as the service {@code istio-ingressgateway} (ports 80 and 443
 * to those two), as Istio's ingress gateway has its Service, so that its metrics name it as the
 * source workload and the dashboard draws it as the graph's entry.
 */
final class IngressGateway implements AutoCloseable {
  static final String NAMESPACE = "istio-system";
  static final String SERVICE_ACCOUNT = "istio-ingressgateway";
  static final String CREDENTIAL = "bookinfo-credential";
  /** The Gateway ports of {@code bookinfo-gateway.yaml} and {@code bookinfo-gateway-https.yaml}. */
  static final int HTTP_PORT = 8080;
  static final int HTTPS_PORT = 443;

  private final Mesh mesh;
  private final MeshGateway gateway;
  private final Path credentials;
  private final PrometheusMeterRegistry metrics;

  private IngressGateway(Mesh mesh, MeshGateway gateway, Path credentials, PrometheusMeterRegistry metrics) {
    this.mesh = mesh;
    this.gateway = gateway;
    this.credentials = credentials;
    this.metrics = metrics;
  }

  /**
   * Starts the gateway's Mesh with {@code identity} (control servers and CA), writes its credential
   * and serves Gateway port 8080 on {@code httpPort} and 443 on {@code httpsPort} (0: free ports).
   */
  static IngressGateway start(UnaryOperator<Mesh.Builder> identity, int httpPort, int httpsPort) throws IOException {
    int http = portOrFree(httpPort, "--port");
    int https = portOrFree(httpsPort, "--https-port");
    Path credentials = Files.createTempDirectory("bookinfo-gateway-credentials");
    Mesh mesh = null;
    try {
      writeCredential(credentials.resolve(CREDENTIAL));
      PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      mesh = identity.apply(Mesh.builder().namespace(NAMESPACE).serviceAccount(SERVICE_ACCOUNT).meterRegistry(metrics)
          .service(SERVICE_ACCOUNT).label("app", SERVICE_ACCOUNT).label("istio", "ingressgateway")
          .servePort("http2", 80, http).servePort("https", 443, https).gateway()).build();
      MeshGateway gateway = MeshGateway.start(mesh, GatewayOptions.defaults().withCredentialsDir(credentials)
          .withBindAddress(InetAddress.getLoopbackAddress().getHostAddress())
          .withLocalPort(HTTP_PORT, http).withLocalPort(HTTPS_PORT, https));
      return new IngressGateway(mesh, gateway, credentials, metrics);
    } catch (IOException | RuntimeException e) {
      if (mesh != null) {
        mesh.close();
      }
      deleteAll(credentials);
      throw e;
    }
  }

  /** The local port serving Gateway port {@code gatewayPort}; empty until its listener has arrived. */
  OptionalInt localPort(int gatewayPort) {
    return gateway.localPort(gatewayPort);
  }

  /** The gateway's meters in Prometheus text, as a scrape of its Mesh's registry would read them. */
  String scrapeMetrics() {
    return metrics.scrape();
  }

  /** The certificate the HTTPS port presents, PEM: what {@code curl --cacert} trusts. */
  Path certificate() {
    return credentials.resolve(CREDENTIAL).resolve("tls.crt");
  }

  /** A TLS context that trusts the HTTPS port's certificate and nothing else. */
  SSLContext trust() {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      try (var in = Files.newInputStream(certificate())) {
        store.setCertificateEntry("bookinfo", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot read " + certificate(), e);
    }
  }

  @Override
  public void close() throws IOException {
    gateway.close();
    mesh.close();
    deleteAll(credentials);
  }

  /** The credentials directory, key included, goes with the demo. */
  private static void deleteAll(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
    }
  }

  /** Fails, naming the option that changes it, when {@code port} (not 0) is taken on loopback. */
  static void requireFree(int port, String option) throws IOException {
    if (port != 0) {
      portOrFree(port, option);
    }
  }

  /**
   * {@code port}, or a free one for 0; a port taken is said at once, with the option that changes
   * it, rather than retried by the gateway in the log.
   */
  private static int portOrFree(int port, String option) throws IOException {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IOException("port " + port + " for the gateway is taken; choose another with " + option, e);
    }
  }

  /** {@code <dir>/tls.crt} and {@code tls.key}: a self-signed P-256 certificate for localhost, valid for a day. */
  private static void writeCredential(Path dir) throws IOException {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair pair = generator.generateKeyPair();
      X500Name name = new X500Name("CN=localhost, O=Inmesh Bookinfo demo");
      Instant now = Instant.now();
      var builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name, pair.getPublic());
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
          new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
      X509Certificate certificate = new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
          .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("tls.crt"), pem("CERTIFICATE", certificate.getEncoded()), StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve("tls.key"), pem("PRIVATE KEY", pair.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make the gateway's certificate", e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
