package dev.inmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.SpiffeTrustManager;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.OpensslPki;
import java.io.IOException;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A real mesh-gateway in front of the mesh: mesh-control with its embedded CA serving Gateways and
 * VirtualServices from a config directory, two MockWebServer workloads that take only mesh mTLS,
 * and curl and openssl as the outside clients.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshGatewayIT {
  private static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway";
  private static final int MAX_HEADER_BYTES = 8 * 1024;
  private static final int MAX_BODY_BYTES = 64 * 1024;

  private Path work;
  private Path credentials;
  private MeshControl control;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private MockWebServer productpage;
  private MockWebServer reviews;
  private MeshGateway gateway;
  private final io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private OpensslPki serverPki;
  private OpensslPki clientPki;
  private OpensslPki.Pair client;

  @BeforeAll
  void start() throws Exception {
    work = Files.createTempDirectory("mesh-gateway-it");
    Path config = Files.createDirectories(work.resolve("config"));
    credentials = Files.createDirectories(work.resolve("credentials"));
    serverPki = OpensslPki.create(Files.createDirectories(work.resolve("server-pki")));
    clientPki = OpensslPki.create(Files.createDirectories(work.resolve("client-pki")));
    credential(credentials, "shop-credential", serverPki.serverFor("shop.example.com"), null);
    OpensslPki.Pair other = serverPki.serverFor("other.example.com");
    credential(credentials, "admin-credential", serverPki.serverFor("admin.example.com"), clientPki.caCertificate());
    client = clientPki.client("partner");
    Files.writeString(config.resolve("gateway.yaml"), gatewayYaml(other), StandardCharsets.UTF_8);

    control = MeshControl.start(MeshControlOptions.ephemeral().withConfigDir(config)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)));
    productpage = workload("productpage", "productpage body");
    reviews = workload("reviews", "reviews body");
    // a workload whose port nothing listens on: calls to it cannot connect
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Mesh ghost = identity(Mesh.builder(), "default", "ghost").service("ghost").label("app", "ghost")
        .servePort("http", 9080, closed).build();
    closeables.add(ghost);
    Mesh gatewayMesh = identity(Mesh.builder(), "istio-system", "istio-ingressgateway")
        .label("istio", "ingressgateway").gateway().meterRegistry(registry).build();
    closeables.add(gatewayMesh);
    gateway = MeshGateway.start(gatewayMesh, GatewayOptions.defaults().withCredentialsDir(credentials)
        .withBindAddress("127.0.0.1")
        .withLocalPort(8080, 0).withLocalPort(8081, 0).withLocalPort(8082, 0).withLocalPort(8443, 0).withLocalPort(9443, 0)
        .withLimits(1000, MAX_HEADER_BYTES, MAX_BODY_BYTES));
    Await.until(() -> List.of(8080, 8081, 8082, 8443, 9443).stream().allMatch(p -> gateway.localPort(p).isPresent())
        && control.workloads().size() == 3 && control.converged(), Duration.ofSeconds(30), "the gateway's ports and the three workloads");
    Await.until(() -> curl("-o", "/dev/null", "-w", "%{http_code}", url(8080, "/productpage")).equals("200"),
        Duration.ofSeconds(30), "the gateway to route /productpage");
  }

  @AfterAll
  void stop() throws Exception {
    GatewayItSupport.closeAll(gateway, closeables, control);
  }

  @Test
  void routesByPathIntoTheMeshOverMutualTlsAsTheGatewaysOwnIdentity() throws Exception {
    productpage.takeRequest(0, TimeUnit.SECONDS); // the warm-up call's, if any is left
    drain(productpage);

    assertThat(curl(url(8080, "/productpage"))).isEqualTo("productpage body");
    assertThat(curl(url(8080, "/reviews/1"))).isEqualTo("reviews body");

    RecordedRequest recorded = productpage.takeRequest(5, TimeUnit.SECONDS);
    assertThat(recorded).isNotNull();
    assertThat(recorded.getHandshake()).as("the backend took the call over TLS").isNotNull();
    X509Certificate peer = (X509Certificate) recorded.getHandshake().peerCertificates().get(0);
    assertThat(SpiffeId.of(peer).map(Object::toString)).hasValue(GATEWAY_ID);
    assertThat(recorded.getHeaders().get("x-forwarded-proto")).isEqualTo("http");
    assertThat(recorded.getHeaders().get("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(recorded.getHeaders().get("x-request-id")).isNotBlank();
  }

  @Test
  void reportsIstioSourceMetricsWithTheGatewayAsSourceAndTheRoutedServiceAsDestination() {
    String explained = curl("-s", "-D", "-", "-o", "/dev/null", url(8080, "/reviews/metrics"));
    assertThat(explained).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("x-inmesh-");

    Await.until(() -> requests("reviews.default.svc.cluster.local", "200") >= 1, Duration.ofSeconds(10),
        "a source-reported request to reviews");
    io.micrometer.core.instrument.Counter counter = registry.find("istio.requests")
        .tags("reporter", "source", "destination_service", "reviews.default.svc.cluster.local", "response_code", "200")
        .counter();
    assertThat(counter.getId().getTag("source_workload_namespace")).isEqualTo("istio-system");
    assertThat(counter.getId().getTag("source_principal")).isEqualTo(GATEWAY_ID);
    assertThat(counter.getId().getTag("destination_principal")).as("the server's SPIFFE ID from the mTLS handshake")
        .isEqualTo("spiffe://cluster.local/ns/default/sa/reviews");

    curl("-o", "/dev/null", url(8080, "/not-routed"));
    Await.until(() -> requests("unknown", "404") >= 1, Duration.ofSeconds(10), "the 404 reported with destination unknown");
  }

  private double requests(String destination, String code) {
    return registry.find("istio.requests").tags("reporter", "source", "destination_service", destination,
        "response_code", code).counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
  }

  @Test
  void routesByHostAndAnswers404ForAHostNoVirtualServiceNames() {
    assertThat(curl("-H", "Host: api.example.com", url(8081, "/anything"))).isEqualTo("reviews body");
    assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: unknown.example.com", url(8081, "/anything")))
        .isEqualTo("404");
    assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", url(8080, "/not-routed"))).isEqualTo("404");
  }

  @Test
  void answersEnvoysStatusesWhenTheMeshCannotAnswer() {
    assertThat(curl("-w", " %{http_code}", url(8080, "/slow"))).as("the route's 1 s timeout")
        .isEqualTo("upstream request timeout 504");
    assertThat(curl("-w", " %{http_code}", url(8080, "/ghost"))).as("no endpoint of ghost takes a connection")
        .startsWith("upstream connect error").endsWith(" 503");
  }

  @Test
  void httpsRedirectAnswers301ToTheSameHostPathAndQueryOverHttps() {
    String headers = curl("-s", "-D", "-", "-o", "/dev/null", "-H", "Host: shop.example.com",
        url(8082, "/productpage?u=normal&q=a%20b"));

    assertThat(headers).startsWith("HTTP/1.1 301");
    assertThat(headers.toLowerCase()).contains("location: https://shop.example.com/productpage?u=normal&q=a%20b");
  }

  @Test
  void sniChoosesTheCertificateOfTheNameTheClientAsksFor() {
    int port = gateway.localPort(8443).getAsInt();
    assertThat(curl("--cacert", serverPki.caCertificate().toString(), "--resolve", "shop.example.com:" + port + ":127.0.0.1",
        "https://shop.example.com:" + port + "/productpage")).isEqualTo("productpage body");
    assertThat(curl("--cacert", serverPki.caCertificate().toString(), "--resolve", "other.example.com:" + port + ":127.0.0.1",
        "https://other.example.com:" + port + "/productpage")).isEqualTo("productpage body");

    assertThat(openssl(port, "shop.example.com")).contains("subject=CN = shop.example.com");
    assertThat(openssl(port, "other.example.com")).contains("subject=CN = other.example.com");
    assertThat(openssl(port, "nobody.example.com")).as("no server for the name: no handshake")
        .doesNotContain("subject=CN");
  }

  @Test
  void aRotatedCredentialIsServedToNewHandshakesWithoutAConfigChange() throws Exception {
    int port = gateway.localPort(8443).getAsInt();
    OpensslPki.Pair next = serverPki.serverFor("shop.example.com");
    BigInteger nextSerial = serial(Files.readString(next.certificate()));
    assertThat(serial(openssl(port, "shop.example.com"))).isNotEqualTo(nextSerial);

    // as a rotated secret lands: each file written beside and moved into place
    Path dir = credentials.resolve("shop-credential");
    for (var file : List.of(Map.entry(next.certificate(), "tls.crt"), Map.entry(next.key(), "tls.key"))) {
      Path written = Files.copy(file.getKey(), dir.resolve(file.getValue() + ".next"), StandardCopyOption.REPLACE_EXISTING);
      Files.move(written, dir.resolve(file.getValue()), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    Await.until(() -> nextSerial.equals(serial(openssl(port, "shop.example.com"))), Duration.ofSeconds(10),
        "the gateway to serve the rotated certificate");
    assertThat(curl("--cacert", serverPki.caCertificate().toString(), "--resolve", "shop.example.com:" + port + ":127.0.0.1",
        "https://shop.example.com:" + port + "/productpage")).isEqualTo("productpage body");
  }

  /** The serial number of the first PEM certificate in {@code text}, or -1 when there is none. */
  private static BigInteger serial(String text) {
    int begin = text.indexOf("-----BEGIN CERTIFICATE-----");
    String end = "-----END CERTIFICATE-----";
    int stop = text.indexOf(end, Math.max(begin, 0));
    if (begin < 0 || stop < 0) {
      return BigInteger.valueOf(-1);
    }
    try {
      X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
          new java.io.ByteArrayInputStream(text.substring(begin, stop + end.length()).getBytes(StandardCharsets.US_ASCII)));
      return certificate.getSerialNumber();
    } catch (java.security.cert.CertificateException e) {
      throw new AssertionError("not a certificate: " + text, e);
    }
  }

  @Test
  void speaksHttp2OverTlsWithAlpnAndInCleartext() {
    int port = gateway.localPort(8443).getAsInt();
    assertThat(curl("--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--cacert",
        serverPki.caCertificate().toString(), "--resolve", "shop.example.com:" + port + ":127.0.0.1",
        "https://shop.example.com:" + port + "/productpage")).isEqualTo("2 200");
    assertThat(curl("--http2-prior-knowledge", "-w", " %{http_version}", url(8080, "/productpage")))
        .isEqualTo("productpage body 2");
    assertThat(curl("--http2", "-w", " %{http_version}", url(8080, "/reviews/2"))).as("h2c upgrade")
        .isEqualTo("reviews body 2");
  }

  @Test
  void mutualTlsTakesAClientWithACertificateFromItsCaAndRefusesOneWithout() {
    int port = gateway.localPort(9443).getAsInt();
    String[] common = {"--cacert", serverPki.caCertificate().toString(), "--resolve", "admin.example.com:" + port + ":127.0.0.1"};

    assertThat(curl(concat(common, "--cert", client.certificate().toString(), "--key", client.key().toString(),
        "https://admin.example.com:" + port + "/productpage"))).isEqualTo("productpage body");
    assertThat(curl(concat(common, "-o", "/dev/null", "-w", "%{http_code}", "https://admin.example.com:" + port + "/productpage")))
        .as("no client certificate: no response").isIn("000", "");
    OpensslPki.Pair stranger = serverPki.client("stranger");
    assertThat(curl(concat(common, "-o", "/dev/null", "-w", "%{http_code}", "--cert", stranger.certificate().toString(),
        "--key", stranger.key().toString(), "https://admin.example.com:" + port + "/productpage")))
        .as("a certificate from another CA: no response").isIn("000", "");
  }

  @Test
  void anAuthorizationPolicyAtTheGatewaySeesAMutualClientCertificatesSpiffeIdAsItsPrincipal() throws Exception {
    int port = gateway.localPort(9443).getAsInt();
    // Istio matches `hosts` against the whole authority, so the Host header without the test's port
    String[] common = {"--cacert", serverPki.caCertificate().toString(), "--resolve", "admin.example.com:" + port + ":127.0.0.1",
        "-H", "Host: admin.example.com", "-w", " %{http_code}"};
    OpensslPki.Pair partner = clientPki.client("partner-svc", "spiffe://partners.example/ns/billing/sa/invoices");
    OpensslPki.Pair intruder = clientPki.client("intruder", "spiffe://partners.example/ns/billing/sa/intruder");
    Path policy = work.resolve("config").resolve("admin-principals.yaml");
    Files.writeString(policy, """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: admin-partners-only
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          action: DENY
          rules:
          - from:
            - source:
                notPrincipals: ["partners.example/ns/billing/sa/invoices"]
            to:
            - operation:
                hosts: ["admin.example.com"]
        """, StandardCharsets.UTF_8);
    try {
      Await.until(() -> curl(concat(common, "--cert", intruder.certificate().toString(), "--key", intruder.key().toString(),
              "https://admin.example.com:" + port + "/productpage")).equals("RBAC: access denied 403"),
          Duration.ofSeconds(30), "the gateway to deny a client certificate of another principal");

      assertThat(curl(concat(common, "--cert", partner.certificate().toString(), "--key", partner.key().toString(),
          "https://admin.example.com:" + port + "/productpage"))).isEqualTo("productpage body 200");
      assertThat(curl(concat(common, "--cert", client.certificate().toString(), "--key", client.key().toString(),
          "https://admin.example.com:" + port + "/productpage"))).as("a certificate without a SPIFFE ID has no principal")
          .isEqualTo("RBAC: access denied 403");
      assertThat(curl(url(8080, "/productpage"))).as("the policy names admin.example.com only")
          .isEqualTo("productpage body");
    } finally {
      Files.delete(policy);
      Await.until(() -> curl(concat(common, "--cert", client.certificate().toString(), "--key", client.key().toString(),
              "https://admin.example.com:" + port + "/productpage")).equals("productpage body 200"),
          Duration.ofSeconds(30), "the policy to be gone");
    }
  }

  @Test
  void aPathOrHostThatWouldBeReadOneWayByPolicyAndAnotherUpstreamIsNormalizedOrRefused() throws Exception {
    Path policy = work.resolve("config").resolve("deny-secret.yaml");
    Files.writeString(policy, """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-secret
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/reviews/secret*"]
        """, StandardCharsets.UTF_8);
    try {
      Await.until(() -> curl("-w", " %{http_code}", url(8080, "/reviews/secret")).equals("RBAC: access denied 403"),
          Duration.ofSeconds(30), "the deny-secret policy to be in force");
      int before = reviews.getRequestCount();

      for (String dodge : List.of("/reviews/public/../secret", "/reviews/public/%2e%2e/secret",
          "/reviews/public\\..\\secret", "/reviews/./secret")) {
        assertThat(curl("--path-as-is", "-w", " %{http_code}", url(8080, dodge))).as(dodge)
            .isEqualTo("RBAC: access denied 403");
      }
      for (String host : List.of("shop.example.com/reviews/secret#", "shop.example.com/reviews/secret?x=",
          "%73hop.example.com", "a@shop.example.com")) {
        assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: " + host, url(8080, "/reviews/public")))
            .as(host).isEqualTo("400");
      }
      assertThat(reviews.getRequestCount()).as("none of them reached the workload").isEqualTo(before);

      assertThat(curl("--path-as-is", url(8080, "/reviews/secret/../public")))
          .as("the raw path starts with the denied prefix; the normalized one does not").isEqualTo("reviews body");
    } finally {
      Files.delete(policy);
      String[] last = {""};
      Await.until(() -> (last[0] = curl("-w", " %{http_code}", url(8080, "/reviews/secret"))).equals("reviews body 200"),
          Duration.ofSeconds(30), "the deny-secret policy to be gone", () -> "last answer: " + last[0]);
    }
  }

  @Test
  void refusesHeadersAndBodiesPastTheirBoundsAndDropsForgedMeshHeaders() throws Exception {
    String big = "x".repeat(MAX_HEADER_BYTES + 1);
    assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "x-big: " + big, url(8080, "/productpage")))
        .isEqualTo("431");
    Path body = work.resolve("body.bin");
    Files.write(body, new byte[MAX_BODY_BYTES + 1]);
    assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + body, url(8080, "/productpage")))
        .isEqualTo("413");

    String headers = curl("-s", "-D", "-", "-o", "/dev/null", "-H", "x-inmesh-explain: 1", url(8080, "/productpage"));
    assertThat(headers).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("x-inmesh-explain");
  }

  @Test
  void closesConnectionsPastTheBoundAndConnectionsThatStayIdle() throws Exception {
    Mesh mesh = identity(Mesh.builder(), "istio-system", "istio-ingressgateway").label("istio", "ingressgateway").gateway().build();
    try (mesh; MeshGateway small = MeshGateway.start(mesh, GatewayOptions.defaults().withBindAddress("127.0.0.1")
        .withLocalPort(8080, 0).withLocalPort(8081, 0).withLocalPort(8082, 0).withLocalPort(8443, 0).withLocalPort(9443, 0)
        .withLimits(2, MAX_HEADER_BYTES, MAX_BODY_BYTES)
        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1)))) {
      Await.until(() -> small.localPort(8080).isPresent(), Duration.ofSeconds(30), "the second gateway's port 8080");
      int port = small.localPort(8080).getAsInt();
      try (java.net.Socket first = new java.net.Socket("127.0.0.1", port);
           java.net.Socket second = new java.net.Socket("127.0.0.1", port);
           java.net.Socket third = new java.net.Socket("127.0.0.1", port)) {
        third.setSoTimeout(10_000);
        assertThat(third.getInputStream().read()).as("the third connection is closed at once").isEqualTo(-1);
        first.setSoTimeout(10_000);
        assertThat(first.getInputStream().read()).as("an idle connection is closed after the idle timeout").isEqualTo(-1);
      }
      // the slots are free again
      Await.until(() -> curlQuiet(port).equals("200"), Duration.ofSeconds(10), "a new connection to be served");
    }
  }

  @Test
  void aClientDrippingHeaderBytesGets408AtTheHeadersDeadlineWhileIdleConnectionsAndSlowBodiesAreLeftAlone()
      throws Exception {
    Mesh mesh = identity(Mesh.builder(), "istio-system", "istio-ingressgateway").label("istio", "ingressgateway").gateway().build();
    try (mesh; MeshGateway slow = MeshGateway.start(mesh, GatewayOptions.defaults().withBindAddress("127.0.0.1")
        .withLocalPort(8080, 0).withLocalPort(8081, 0).withLocalPort(8082, 0).withLocalPort(8443, 0).withLocalPort(9443, 0)
        .withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(5))
        .withRequestHeadersTimeout(Duration.ofSeconds(1)))) {
      Await.until(() -> slow.localPort(8080).isPresent() && curlQuiet(slow.localPort(8080).getAsInt()).equals("200"),
          Duration.ofSeconds(30), "the gateway's port 8080 to serve");
      int port = slow.localPort(8080).getAsInt();

      try (java.net.Socket dripping = new java.net.Socket("127.0.0.1", port)) {
        dripping.setSoTimeout(10_000);
        var out = dripping.getOutputStream();
        out.write("GET /productpage HTTP/1.1\r\nHost: shop.example.com\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        long started = System.nanoTime();
        // a header byte every 200 ms: never idle, never done
        for (int i = 0; i < 15 && dripping.getInputStream().available() == 0; i++) {
          try {
            out.write('x');
            out.flush();
          } catch (IOException closed) {
            break;
          }
          Thread.sleep(200);
        }
        String answer = new String(dripping.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(answer).startsWith("HTTP/1.1 408").containsIgnoringCase("connection: close");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("answered at the 1 s deadline, not the 30 s idle timeout")
            .isLessThan(Duration.ofSeconds(3));
      }

      try (java.net.Socket keepAlive = new java.net.Socket("127.0.0.1", port)) {
        keepAlive.setSoTimeout(10_000);
        byte[] request = "GET /productpage HTTP/1.1\r\nHost: shop.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        keepAlive.getOutputStream().write(request);
        assertThat(readHead(keepAlive)).startsWith("HTTP/1.1 200");
        Thread.sleep(1_500);
        keepAlive.getOutputStream().write(request);
        assertThat(readHead(keepAlive)).as("the deadline runs from a request's first byte, not between requests")
            .startsWith("HTTP/1.1 200");
      }

      try (java.net.Socket upload = new java.net.Socket("127.0.0.1", port)) {
        upload.setSoTimeout(10_000);
        var out = upload.getOutputStream();
        out.write(("POST /productpage HTTP/1.1\r\nHost: shop.example.com\r\nExpect: 100-continue\r\n"
            + "Content-Length: 8\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(readHead(upload)).startsWith("HTTP/1.1 100");
        for (int i = 0; i < 8; i++) {
          // the body takes twice the headers deadline
          Thread.sleep(250);
          out.write('b');
          out.flush();
        }
        assertThat(readHead(upload)).as("a body after 100 Continue is not held to the headers deadline")
            .startsWith("HTTP/1.1 200");
      }
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredOneAfterAnotherAndAClientPipeliningTooFarIsClosed() throws Exception {
    int port = gateway.localPort(8080).getAsInt();
    String one = "GET /productpage HTTP/1.1\r\nHost: shop.example.com\r\n\r\n";
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(one.repeat(5).getBytes(StandardCharsets.US_ASCII));
      for (int i = 0; i < 5; i++) {
        assertThat(readHead(socket)).as("answer " + (i + 1)).startsWith("HTTP/1.1 200");
      }
    }
    try (java.net.Socket flood = new java.net.Socket("127.0.0.1", port)) {
      flood.setSoTimeout(10_000);
      // RequestHandler.MAX_PIPELINED is 16
      flood.getOutputStream().write(one.repeat(64).getBytes(StandardCharsets.US_ASCII));
      int answers = 0;
      while (readHead(flood).startsWith("HTTP/1.1 200")) {
        answers++;
      }
      assertThat(answers).as("answered no more than it may hold, then closed").isLessThanOrEqualTo(16);
    }
    assertThat(curl(url(8080, "/productpage"))).as("the workers are not all taken").isEqualTo("productpage body");
  }

  @Test
  void requestBodiesPastTheBufferBudgetAre503WhileTheBodiesHeldAreServed() throws Exception {
    int body = 40 * 1024 * 1024;
    Mesh mesh = identity(Mesh.builder(), "istio-system", "istio-ingressgateway").label("istio", "ingressgateway").gateway().build();
    try (mesh; MeshGateway tight = MeshGateway.start(mesh, GatewayOptions.defaults().withBindAddress("127.0.0.1")
        .withLocalPort(8080, 0).withLocalPort(8081, 0).withLocalPort(8082, 0).withLocalPort(8443, 0).withLocalPort(9443, 0)
        .withLimits(100, MAX_HEADER_BYTES, body).withMaxBufferedBytes(64L * 1024 * 1024))) {
      Await.until(() -> tight.localPort(8080).isPresent() && curlQuiet(tight.localPort(8080).getAsInt()).equals("200"),
          Duration.ofSeconds(30), "the gateway's port 8080 to serve");
      String slow = "http://127.0.0.1:" + tight.localPort(8080).getAsInt() + "/slow";
      Path upload = Files.write(work.resolve("upload.bin"), new byte[body]);

      // the first body is held while /slow takes its 1 s route timeout; a second does not fit beside it
      Process first = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
          "--data-binary", "@" + upload, slow).redirectErrorStream(true).start();
      Thread.sleep(400);
      String second = curl("-w", " %{http_code}", "-H", "Expect:", "--data-binary", "@" + upload, slow);
      assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();

      assertThat(second).isEqualTo("overloaded 503");
      assertThat(new String(first.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).as("the first was served")
          .isEqualTo("504");
      assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "--data-binary", "@" + upload, slow))
          .as("the budget is given back once answered").isEqualTo("504");
    }
  }

  /** Reads one response's status line and headers, and its body by content-length. */
  private static String readHead(java.net.Socket socket) throws IOException {
    var in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    if (length.find()) {
      in.readNBytes(Integer.parseInt(length.group(1)));
    }
    return head.toString();
  }

  @Test
  void theStandaloneJarJoinsTheMeshWithAJoinTokenAndServesTheGateway() throws Exception {
    Path jar = Path.of("target", "mesh-gateway.jar");
    assertThat(jar).as("the shaded jar, built in the package phase").exists();
    var authority = control.ca().orElseThrow();
    Path root = Files.writeString(work.resolve("root-cert.pem"), authority.trustBundle().toPem());
    Path token = Files.writeString(work.resolve("gateway.token"),
        authority.joinTokens().create("istio-system", "istio-ingressgateway", Duration.ofMinutes(10)).value());
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString(), "--control-servers", "127.0.0.1:" + control.xdsPort(),
        "--ca", "127.0.0.1:" + control.caGrpcPort(), "--ca-root", root.toString(), "--join-token-file", token.toString(),
        "--credentials-dir", credentials.toString(), "--bind", "127.0.0.1"));
    for (int port : List.of(8080, 8081, 8082, 8443, 9443)) {
      command.addAll(List.of("--port", port + "=0"));
    }
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      java.util.concurrent.CompletableFuture<Integer> port = new java.util.concurrent.CompletableFuture<>();
      Thread reader = new Thread(() -> {
        java.util.regex.Pattern listening = java.util.regex.Pattern.compile("gateway port 8080 listening on .*:(\\d+)");
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            var matcher = listening.matcher(line);
            if (matcher.find()) {
              port.complete(Integer.parseInt(matcher.group(1)));
            }
          }
        } catch (IOException e) {
          port.completeExceptionally(e);
        }
      });
      reader.setDaemon(true);
      reader.start();
      int local = port.get(60, TimeUnit.SECONDS);
      Await.until(() -> curl("http://127.0.0.1:" + local + "/productpage").equals("productpage body"), Duration.ofSeconds(30),
          "the jar's gateway to route /productpage");
    } finally {
      process.destroy();
      process.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void answers503WhenEveryWorkerIsBusyAndTheQueueIsFull() throws Exception {
    Mesh mesh = identity(Mesh.builder(), "istio-system", "istio-ingressgateway").label("istio", "ingressgateway").gateway().build();
    try (mesh; MeshGateway small = MeshGateway.start(mesh, GatewayOptions.defaults().withBindAddress("127.0.0.1")
        .withLocalPort(8080, 0).withLocalPort(8081, 0).withLocalPort(8082, 0).withLocalPort(8443, 0).withLocalPort(9443, 0)
        .withWorkers(1, 1))) {
      Await.until(() -> small.localPort(8080).isPresent(), Duration.ofSeconds(30), "the small gateway's port 8080");
      Await.until(() -> curlQuiet(small.localPort(8080).getAsInt()).equals("200"), Duration.ofSeconds(30),
          "the small gateway to route");
      int port = small.localPort(8080).getAsInt();
      List<java.net.Socket> sockets = new ArrayList<>();
      try {
        // one call runs for the route's 1 s timeout, one waits in the queue, the third finds no room
        for (int i = 0; i < 3; i++) {
          java.net.Socket socket = new java.net.Socket("127.0.0.1", port);
          socket.setSoTimeout(20_000);
          socket.getOutputStream().write(("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          socket.getOutputStream().flush();
          sockets.add(socket);
        }
        List<String> statusLines = new ArrayList<>();
        for (java.net.Socket socket : sockets) {
          statusLines.add(new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
              StandardCharsets.US_ASCII)).readLine());
        }
        assertThat(statusLines).as("the refused call answered at once, the others by the timeout")
            .contains("HTTP/1.1 503 Service Unavailable", "HTTP/1.1 504 Gateway Timeout");
      } finally {
        for (java.net.Socket socket : sockets) {
          socket.close();
        }
      }
    }
  }

  private static String curlQuiet(int port) {
    return curl("-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:" + port + "/productpage");
  }

  private String url(int gatewayPort, String path) {
    return "http://127.0.0.1:" + gateway.localPort(gatewayPort).getAsInt() + path;
  }

  private static String gatewayYaml(OpensslPki.Pair other) {
    return """
        # the shape of Istio's bookinfo-gateway.yaml: every host on 8080, routes by path
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: front-gateway
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port:
              number: 8080
              name: http
              protocol: HTTP
            hosts:
            - "*"
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: front
        spec:
          hosts:
          - "*"
          gateways:
          - front-gateway
          http:
          - match:
            - uri:
                exact: /productpage
            route:
            - destination:
                host: productpage
                port:
                  number: 9080
          - match:
            - uri:
                prefix: /reviews
            route:
            - destination:
                host: reviews
                port:
                  number: 9080
          - match:
            - uri:
                prefix: /slow
            timeout: 1s
            retries:
              attempts: 0
            route:
            - destination:
                host: reviews
                port:
                  number: 9080
          - match:
            - uri:
                prefix: /ghost
            route:
            - destination:
                host: ghost
                port:
                  number: 9080
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-gateway
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 8081, name: http-api, protocol: HTTP}
            hosts: ["api.example.com"]
          - port: {number: 8082, name: http-redirect, protocol: HTTP}
            hosts: ["shop.example.com"]
            tls:
              httpsRedirect: true
          - port: {number: 8443, name: https-shop, protocol: HTTPS}
            hosts: ["shop.example.com"]
            tls:
              mode: SIMPLE
              credentialName: shop-credential
          - port: {number: 8443, name: https-other, protocol: HTTPS}
            hosts: ["other.example.com"]
            tls:
              mode: SIMPLE
              serverCertificate: %s
              privateKey: %s
          - port: {number: 9443, name: https-admin, protocol: HTTPS}
            hosts: ["admin.example.com"]
            tls:
              mode: MUTUAL
              credentialName: admin-credential
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: shop
        spec:
          hosts: ["shop.example.com", "other.example.com", "admin.example.com"]
          gateways: [shop-gateway]
          http:
          - route:
            - destination: {host: productpage, port: {number: 9080}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: api
        spec:
          hosts: ["api.example.com"]
          gateways: [shop-gateway]
          http:
          - route:
            - destination: {host: reviews, port: {number: 9080}}
        """.formatted(other.certificate(), other.key());
  }

  /** {@code <dir>/<name>/tls.crt, tls.key[, ca.crt]}, the keys of an Istio TLS secret. */
  private static void credential(Path dir, String name, OpensslPki.Pair pair, Path ca) throws IOException {
    Path credential = Files.createDirectories(dir.resolve(name));
    Files.copy(pair.certificate(), credential.resolve("tls.crt"));
    Files.copy(pair.key(), credential.resolve("tls.key"));
    if (ca != null) {
      Files.copy(ca, credential.resolve("ca.crt"));
    }
  }

  /** A mesh workload of {@code service} whose MockWebServer takes only mesh mTLS and answers {@code body}. */
  private MockWebServer workload(String service, String body) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Mesh mesh = identity(Mesh.builder(), "default", service).service(service).label("app", service)
        .servePort("http", 9080, port).build();
    closeables.add(mesh);
    mesh.awaitReady(Duration.ofSeconds(20));
    MockWebServer server = new MockWebServer();
    server.useHttps(serverContext(mesh.certificates().orElseThrow()).getSocketFactory());
    server.requireClientAuth();
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        if (request.getUrl().encodedPath().startsWith("/slow")) {
          return new MockResponse.Builder().headersDelay(5, TimeUnit.SECONDS).body(body).build();
        }
        return new MockResponse.Builder().body(body).build();
      }
    });
    server.start(port);
    closeables.add(server);
    return server;
  }

  private Mesh.Builder identity(Mesh.Builder builder, String namespace, String serviceAccount) {
    return GatewayItSupport.identity(control, builder, namespace, serviceAccount);
  }


  private static SSLContext serverContext(CertificateManager certificates) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(new KeyManager[] {certificates.keyManager()},
        new TrustManager[] {new SpiffeTrustManager(certificates::trustAnchors, peer -> true, Clock.systemUTC())}, null);
    return context;
  }

  private static void drain(MockWebServer server) throws InterruptedException {
    while (server.takeRequest(0, TimeUnit.SECONDS) != null) {
      // earlier tests' requests
    }
  }

  private static String[] concat(String[] first, String... rest) {
    String[] all = new String[first.length + rest.length];
    System.arraycopy(first, 0, all, 0, first.length);
    System.arraycopy(rest, 0, all, first.length, rest.length);
    return all;
  }

  /** curl's standard output, silent and with a bound on time; an error leaves what it printed. */
  private static String curl(String... args) {
    List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "20"));
    command.addAll(List.of(args));
    return run(command, null);
  }

  /** What {@code openssl s_client} prints of the handshake for an SNI name. */
  private static String openssl(int port, String serverName) {
    return run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", serverName), "");
  }

  private static String run(List<String> command, String input) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(input != null).start();
      if (input != null) {
        process.getOutputStream().close();
      } else {
        process.getOutputStream().close();
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(30, TimeUnit.SECONDS);
      return output.strip();
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
