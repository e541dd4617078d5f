package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.ca.Credential;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.security.CertificateRequest;
import dev.inmesh.internal.security.Credentials;
import dev.inmesh.testing.Await;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inbound side as the world outside the JVM sees it: {@code curl} and {@code openssl s_client}
 * against a JDK server behind the door. STRICT refuses plaintext, a certificate from another CA, an
 * expired mesh certificate and a mesh-rooted certificate without a SPIFFE ID, and serves a mesh
 * certificate; PERMISSIVE serves plaintext and mTLS on one port, and the metrics tell them apart.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutsideClientsIT {
  private static final String PRODUCTPAGE = "spiffe://cluster.local/ns/default/sa/productpage";

  @TempDir
  static Path dir;
  InboundFixture mesh;
  Mesh reviews;
  MeshHttpServer server;
  PrometheusMeterRegistry registry;
  int port;
  Path root;

  @BeforeAll
  void start() throws Exception {
    mesh = new InboundFixture(MeshControlOptions.ephemeral().withDataDir(dir.resolve("data")));
    port = InboundFixture.freePort();
    reviews = mesh.server("reviews", port);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    server = MeshHttpServer.builder(reviews, port).meterRegistry(registry).build();
    server.createContext("/", exchange -> {
      PeerInfo peer = (PeerInfo) exchange.getAttribute(PeerInfo.ATTRIBUTE);
      byte[] body = (peer.security().istioName() + " " + peer.principal().map(Object::toString).orElse("-"))
          .getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    root = dir.resolve("data/ca/root-cert.pem");

    Mesh productpage = mesh.client("productpage");
    writeCredentials("mesh", productpage.certificates().orElseThrow().current());
    // another CA's certificate for the very same SPIFFE ID
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", path("other-key.pem"), "-out", path("other-cert.pem"), "-days", "1", "-subj", "/O=another mesh",
        "-addext", "subjectAltName=URI:" + PRODUCTPAGE);
    // signed by the mesh root itself, but with no SPIFFE ID
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", path("nospiffe-key.pem"), "-out", path("nospiffe.csr"), "-subj", "/O=no spiffe id");
    run("openssl", "x509", "-req", "-in", path("nospiffe.csr"), "-CA", root.toString(),
        "-CAkey", dir.resolve("data/ca/root-key.pem").toString(), "-CAcreateserial", "-out", path("nospiffe-cert.pem"),
        "-days", "1");
    // a mesh certificate that lives two seconds
    CertificateAuthority ca = mesh.control.ca().orElseThrow();
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair keys = generator.generateKeyPair();
    String token = ca.joinTokens().create("default", "productpage", Duration.ofMinutes(1)).value();
    List<X509Certificate> chain = ca.sign(CertificateRequest.pem(keys, SpiffeId.parse(PRODUCTPAGE).orElseThrow()),
        Duration.ofSeconds(2), new Credential.Token(token)).chain();
    writeCredentials("expired", new Credentials(keys.getPrivate(), chain.subList(0, 2)));
    Await.sleep(Duration.ofSeconds(3));
  }

  @AfterAll
  void stop() {
    server.close();
    mesh.close();
  }

  @Test
  void strictRefusesEverythingButAMeshCertificate() throws Exception {
    mesh.mtlsMode(reviews, port, MtlsMode.STRICT);

    assertThat(curl("http://127.0.0.1:" + port + "/").output()).doesNotContain("200");
    assertThat(curlTls("mesh")).isEqualTo(new Result(0, "200 mutual_tls " + PRODUCTPAGE));
    assertThat(curlTls("other").exitCode()).as("a certificate from another CA").isNotZero();
    assertThat(curlTls("expired").exitCode()).as("an expired mesh certificate").isNotZero();
    assertThat(curlTls("nospiffe").exitCode()).as("a mesh-rooted certificate without a SPIFFE ID").isNotZero();
    assertThat(curl("-sS", "-k", "https://127.0.0.1:" + port + "/").exitCode()).as("no certificate").isNotZero();

    assertThat(sClient("mesh")).contains("HTTP/1.1 200").contains("mutual_tls " + PRODUCTPAGE);
    assertThat(sClient("other")).doesNotContain("HTTP/1.1 200");
  }

  @Test
  void permissiveServesPlaintextAndMutualTlsOnOnePortAndTheMetricsTellThemApart() throws Exception {
    mesh.mtlsMode(reviews, port, MtlsMode.PERMISSIVE);
    double plaintextBefore = requests("none");
    double mtlsBefore = requests("mutual_tls");

    assertThat(curl("-sS", "-w", "%{http_code} ", "-o", "/dev/null", "http://127.0.0.1:" + port + "/").output())
        .isEqualTo("200");
    assertThat(curlTls("mesh")).isEqualTo(new Result(0, "200 mutual_tls " + PRODUCTPAGE));

    // the server counts a request once its exchange ends, which may be just after the client has the answer
    Await.until(() -> requests("none") == plaintextBefore + 1 && requests("mutual_tls") == mtlsBefore + 1,
        Duration.ofSeconds(5), "one plaintext and one mTLS request counted");
    assertThat(registry.scrape()).contains("connection_security_policy=\"none\"", "connection_security_policy=\"mutual_tls\"");
  }

  private double requests(String securityPolicy) {
    return registry.find("istio.requests").tags("connection_security_policy", securityPolicy, "response_code", "200")
        .counters().stream().mapToDouble(Counter::count).sum();
  }

  record Result(int exitCode, String output) {}

  /** curl over TLS with the named client credentials; prints "<status> <body>". */
  private Result curlTls(String credentials) throws Exception {
    // -k: the server's certificate names a SPIFFE ID, not 127.0.0.1; this test is about the server's checks
    return curl("-sS", "-k", "--cert", path(credentials + "-cert.pem"), "--key", path(credentials + "-key.pem"),
        "-w", "%{http_code} ", "-o", "/dev/stderr", "https://127.0.0.1:" + port + "/");
  }

  private Result curl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "--max-time", "10"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    Process process = builder.start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    // the body went to stderr after the status, so that both arrive in one line
    String output = process.exitValue() == 0 ? (out + err).trim() : out + err;
    return new Result(process.exitValue(), output);
  }

  private String sClient(String credentials) throws Exception {
    Process process = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-quiet",
        "-cert", path(credentials + "-cert.pem"), "-cert_chain", path(credentials + "-chain.pem"),
        "-key", path(credentials + "-key.pem"))
        .redirectErrorStream(true).start();
    try (OutputStream in = process.getOutputStream()) {
      in.write("GET / HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return output;
  }

  private void writeCredentials(String name, Credentials credentials) throws IOException {
    StringBuilder chain = new StringBuilder();
    for (X509Certificate certificate : credentials.chain()) {
      chain.append(pem("CERTIFICATE", encoded(certificate)));
    }
    Files.writeString(dir.resolve(name + "-cert.pem"), chain);
    // s_client sends only the first certificate of -cert; the intermediates go in -cert_chain
    Files.writeString(dir.resolve(name + "-chain.pem"), chain.substring(chain.indexOf("-----END CERTIFICATE-----") + 26));
    Files.writeString(dir.resolve(name + "-key.pem"), pem("PRIVATE KEY", credentials.key().getEncoded()));
  }

  private static byte[] encoded(X509Certificate certificate) {
    try {
      return certificate.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private String path(String file) {
    return dir.resolve(file).toString();
  }

  private void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as("%s: %s", String.join(" ", command), output).isZero();
  }
}
