package dev.inmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.OpensslPki;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Istio's egress gateway task with TLS origination at the gateway, in the variant with mesh mTLS
 * between the workload and the gateway: a mesh client calls {@code http://api.partner.example},
 * its VirtualService ({@code gateways: [mesh]}) sends the call to the egress gateway's service over
 * mTLS (DestinationRule subset ISTIO_MUTUAL), the gateway's Gateway server (ISTIO_MUTUAL) takes it,
 * the VirtualService bound to the gateway sends it to the external host's port 443, and the
 * DestinationRule there (SIMPLE, {@code caCertificates}) makes the gateway originate TLS to the
 * "external" HTTPS server, a MockWebServer on loopback with a certificate from a CA of its own.
 * The task as Istio writes it, with a plaintext HTTP server, runs beside it on another port.
 * Real mesh-control and CA; curl as the outside client.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EgressGatewayIT {
  private static final String HOST = "api.partner.example";
  private static final String ROGUE = "rogue.partner.example";
  private static final String PLAIN = "plain.partner.example";
  private static final String JAR = "jar.partner.example";
  private static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway";

  private Path work;
  private MeshControl control;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private OpensslPki partnerCa;
  private MockWebServer partner;
  private MockWebServer rogue;
  private MockWebServer plain;
  private MockWebServer jarServer;
  private MockWebServer direct;
  private int gatewayPort;
  private int plainGatewayPort;
  private MeshGateway gateway;
  private final SimpleMeterRegistry gatewayMetrics = new SimpleMeterRegistry();
  private final SimpleMeterRegistry clientMetrics = new SimpleMeterRegistry();
  private OkHttpClient client;
  private OkHttpClient intruder;

  @BeforeAll
  void start() throws Exception {
    work = Files.createTempDirectory("egress-gateway-it");
    Path config = Files.createDirectories(work.resolve("config"));
    partnerCa = OpensslPki.create(Files.createDirectories(work.resolve("partner-pki")));
    OpensslPki otherCa = OpensslPki.create(Files.createDirectories(work.resolve("other-pki")));
    partner = https(partnerCa.serverFor(HOST), "partner over TLS");
    rogue = https(otherCa.serverFor(ROGUE), "rogue over TLS");
    plain = https(partnerCa.serverFor(PLAIN), "plain over TLS");
    jarServer = https(partnerCa.serverFor(JAR), "jar over TLS");
    // where port 80 of the external hosts leads: a client that went around the gateway would land here
    direct = new MockWebServer();
    direct.start(InetAddress.getByName("127.0.0.1"), 0);
    try (ServerSocket socket = new ServerSocket(0); ServerSocket other = new ServerSocket(0)) {
      gatewayPort = socket.getLocalPort();
      plainGatewayPort = other.getLocalPort();
    }
    Files.writeString(config.resolve("egress.yaml"), egressYaml(), StandardCharsets.UTF_8);

    control = MeshControl.start(MeshControlOptions.ephemeral().withConfigDir(config)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)));
    // the egress gateway is registered as its Service: ports 80 and 8080, which clients dial, taken on free ports
    Mesh gatewayMesh = identity(Mesh.builder(), "istio-system", "istio-egressgateway")
        .service("istio-egressgateway").servePort("http", 80, gatewayPort).servePort("http-8080", 8080, plainGatewayPort)
        .label("istio", "egressgateway").gateway().meterRegistry(gatewayMetrics).build();
    closeables.add(gatewayMesh);
    gateway = MeshGateway.start(gatewayMesh, GatewayOptions.defaults()
        .withBindAddress("127.0.0.1").withLocalPort(80, gatewayPort).withLocalPort(8080, plainGatewayPort));
    Mesh sleep = identity(Mesh.builder(), "default", "sleep").meterRegistry(clientMetrics).build();
    closeables.add(sleep);
    client = MeshHttp.client(sleep);
    Mesh other = identity(Mesh.builder(), "default", "intruder").build();
    closeables.add(other);
    intruder = MeshHttp.client(other);
    Await.until(() -> gateway.localPort(80).isPresent() && gateway.localPort(8080).isPresent()
        && control.workloads().size() == 1 && control.converged(),
        Duration.ofSeconds(30), "the egress gateway's port and its registration");
    Await.until(() -> status("http://" + HOST + "/warm-up") == 200, Duration.ofSeconds(30),
        "the client to reach the partner through the egress gateway");
  }

  @AfterAll
  void stop() throws Exception {
    GatewayItSupport.closeAll(gateway, closeables, control);
    for (MockWebServer server : new MockWebServer[] {partner, rogue, plain, jarServer, direct}) {
      if (server != null) {
        server.close();
      }
    }
  }

  @Test
  void aMeshCallToTheExternalHostGoesThroughTheEgressGatewayWhichOriginatesTls() throws Exception {
    drain(partner);

    try (Response response = client.newCall(new Request.Builder().url("http://" + HOST + "/status").build()).execute()) {
      assertThat(response.code()).isEqualTo(200);
      assertThat(response.body().string()).isEqualTo("partner over TLS");
    }

    RecordedRequest recorded = partner.takeRequest(5, TimeUnit.SECONDS);
    assertThat(recorded).isNotNull();
    assertThat(recorded.getHandshake()).as("the external host was reached over TLS").isNotNull();
    assertThat(recorded.getHandshake().peerCertificates()).as("SIMPLE: no client certificate").isEmpty();
    assertThat(recorded.getUrl().encodedPath()).isEqualTo("/status");
    assertThat(recorded.getUrl().host()).as("the host the client called").isEqualTo(HOST);
    assertThat(direct.getRequestCount()).as("nothing went to the external host around the gateway").isZero();

    // the client's hop: its mTLS peer was the egress gateway, not the external host
    Await.until(() -> requests(clientMetrics, HOST) >= 1, Duration.ofSeconds(10), "the client's call reported");
    Counter clientCall = clientMetrics.find("istio.requests")
        .tags("reporter", "source", "destination_service", HOST, "response_code", "200").counter();
    assertThat(clientCall.getId().getTag("destination_principal")).as("the server the client's handshake verified")
        .isEqualTo(GATEWAY_ID);
    assertThat(clientCall.getId().getTag("destination_workload_namespace")).isEqualTo("istio-system");
    // the gateway's hop: to the external host
    Await.until(() -> requests(gatewayMetrics, HOST) >= 1, Duration.ofSeconds(10), "the gateway's call reported");
    Counter fromGateway = gatewayMetrics.find("istio.requests")
        .tags("reporter", "source", "destination_service", HOST, "response_code", "200").counter();
    assertThat(fromGateway.getId().getTag("source_principal")).isEqualTo(GATEWAY_ID);
  }

  @Test
  void istiosPlaintextShapeCallsTheGatewayInPlaintextWhichAnyoneReachingItsPortMayUse() throws Exception {
    drain(plain);

    try (Response response = client.newCall(new Request.Builder().url("http://" + PLAIN + "/status").build()).execute()) {
      assertThat(response.code()).isEqualTo(200);
      assertThat(response.body().string()).isEqualTo("plain over TLS");
    }
    assertThat(plain.takeRequest(5, TimeUnit.SECONDS).getHandshake()).as("originated at the gateway").isNotNull();
    Await.until(() -> requests(clientMetrics, PLAIN) >= 1, Duration.ofSeconds(10), "the client's call reported");
    assertThat(clientMetrics.find("istio.requests").tags("reporter", "source", "destination_service", PLAIN).counter()
        .getId().getTag("destination_principal")).as("no mTLS to a plaintext server: no verified peer").isEqualTo("unknown");

    Run outside = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: " + PLAIN,
        "http://127.0.0.1:" + plainGatewayPort + "/status");
    assertThat(outside.output()).as("a plaintext egress server authenticates no one").isEqualTo("200");
    assertThat(direct.getRequestCount()).isZero();
  }

  @Test
  void theStandaloneJarRegistersAsTheServiceItIsGivenWithItsGatewayPortMappedToALocalOne() throws Exception {
    Path jar = Path.of("target", "mesh-gateway.jar");
    assertThat(jar).as("the shaded jar, built in the package phase").exists();
    var authority = control.ca().orElseThrow();
    Path root = Files.writeString(work.resolve("root-cert.pem"), authority.trustBundle().toPem());
    Path token = Files.writeString(work.resolve("egress.token"),
        authority.joinTokens().create("istio-system", "istio-egressgateway", Duration.ofMinutes(10)).value());
    int local;
    try (ServerSocket socket = new ServerSocket(0)) {
      local = socket.getLocalPort();
    }
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString(), "--control-servers", "127.0.0.1:" + control.xdsPort(),
        "--ca", "127.0.0.1:" + control.caGrpcPort(), "--ca-root", root.toString(), "--join-token-file", token.toString(),
        "--namespace", "istio-system", "--service-account", "istio-egressgateway", "--label", "istio=egressgateway-jar",
        "--service", "egress-jar", "--port", "81=" + local, "--bind", "127.0.0.1")
        .redirectErrorStream(true).redirectOutput(work.resolve("egress-jar.log").toFile()).start();
    try {
      Await.until(() -> status("http://" + JAR + "/status") == 200, Duration.ofSeconds(60),
          "the client to reach " + JAR + " through the jar's gateway");
      RecordedRequest recorded = jarServer.takeRequest(5, TimeUnit.SECONDS);
      assertThat(recorded.getHandshake()).as("TLS originated by the jar's gateway").isNotNull();
      assertThat(Files.readString(work.resolve("egress-jar.log"))).contains("gateway port 81 listening on /127.0.0.1:" + local);
    } finally {
      process.destroy();
      process.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void anExternalCertificateTheDestinationRuleDoesNotTrustFailsTheCallWith503() throws Exception {
    try (Response response = client.newCall(new Request.Builder().url("http://" + ROGUE + "/status").build()).execute()) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).contains("TLS error");
    }
    assertThat(rogue.getRequestCount()).as("no request reached a server the gateway does not trust").isZero();
    assertThat(direct.getRequestCount()).isZero();
  }

  @Test
  void theGatewaysAuthorizationPolicySeesTheCallersSpiffeIdAndRefusesAnotherServiceAccount() throws Exception {
    int before = partner.getRequestCount();

    try (Response response = intruder.newCall(new Request.Builder().url("http://" + HOST + "/status").build()).execute()) {
      assertThat(response.code()).isEqualTo(403);
      assertThat(response.body().string()).isEqualTo("RBAC: access denied");
    }
    assertThat(partner.getRequestCount()).isEqualTo(before);
  }

  @Test
  void anOutsideClientWithoutAMeshCertificateIsRefusedAtTheGatewaysPort() throws Exception {
    String url = "https://" + HOST + ":" + gatewayPort + "/status";
    String resolve = HOST + ":" + gatewayPort + ":127.0.0.1";
    int before = partner.getRequestCount();

    // -k: whatever curl thinks of the gateway's certificate, it is refused for having no mesh certificate of its own
    Run none = curl("-k", "--resolve", resolve, url);
    OpensslPki.Pair foreign = partnerCa.client("outsider");
    Run foreignCertificate = curl("-k", "--cert", foreign.certificate().toString(), "--key", foreign.key().toString(),
        "--resolve", resolve, url);
    Run plaintext = curl("http://127.0.0.1:" + gatewayPort + "/status", "-H", "Host: " + HOST);

    assertThat(none.exit()).as("no client certificate: " + none).isNotZero();
    assertThat(foreignCertificate.exit()).as("a certificate from outside the mesh: " + foreignCertificate).isNotZero();
    assertThat(plaintext.exit()).as("plaintext on the mTLS port: " + plaintext).isNotZero();
    assertThat(partner.getRequestCount()).as("none of them got through").isEqualTo(before);
  }

  private int status(String url) {
    try (Response response = client.newCall(new Request.Builder().url(url).build()).execute()) {
      return response.code();
    } catch (IOException e) {
      return -1;
    }
  }

  private static double requests(SimpleMeterRegistry registry, String destination) {
    return registry.find("istio.requests").tags("reporter", "source", "destination_service", destination)
        .counters().stream().mapToDouble(Counter::count).sum();
  }

  /**
   * Istio's egress TLS-origination task for three external hosts on loopback: in its mTLS variant
   * (ISTIO_MUTUAL on port 80) for two, as written (plaintext HTTP, on port 8080 here) for the third.
   */
  private String egressYaml() {
    return """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: istio-egressgateway
        spec:
          selector:
            istio: egressgateway
          servers:
          - port:
              number: 80
              name: https-port-for-tls-origination
              protocol: HTTPS
            hosts:
            - %1$s
            - %2$s
            tls:
              mode: ISTIO_MUTUAL
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: egressgateway-for-partner
        spec:
          host: istio-egressgateway.istio-system.svc.cluster.local
          subsets:
          - name: partner
            trafficPolicy:
              loadBalancer:
                simple: ROUND_ROBIN
              portLevelSettings:
              - port:
                  number: 80
                tls:
                  mode: ISTIO_MUTUAL
                  sni: %1$s
        ---
        # who may go out through the gateway: the mTLS handshake tells the gateway who is calling
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: egress-for-sleep
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: egressgateway
          action: ALLOW
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/default/sa/sleep"]
          - to:
            - operation:
                hosts: [%3$s, "%3$s:*"]
        ---
        # Istio's egress gateway task as written: a plaintext HTTP server
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: istio-egressgateway-http
        spec:
          selector:
            istio: egressgateway
          servers:
          - port:
              number: 8080
              name: http
              protocol: HTTP
            hosts:
            - %3$s
        ---
        %4$s
        ---
        %5$s
        ---
        %6$s
        ---
        # a second egress gateway, run from the shaded jar, with labels and a service of its own
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: egress-jar
        spec:
          selector:
            istio: egressgateway-jar
          servers:
          - port:
              number: 81
              name: http
              protocol: HTTP
            hosts:
            - %7$s
        ---
        %8$s
        """.formatted(HOST, ROGUE, PLAIN, external(HOST, partner.getPort(), "istio-egressgateway", "istio-egressgateway", 80, "partner"),
            external(ROGUE, rogue.getPort(), "istio-egressgateway", "istio-egressgateway", 80, "partner"),
            external(PLAIN, plain.getPort(), "istio-egressgateway", "istio-egressgateway-http", 8080, null), JAR,
            external(JAR, jarServer.getPort(), "egress-jar", "egress-jar", 81, null));
  }

  /**
   * The ServiceEntry, the VirtualService through a gateway (the gateway's {@code service} in
   * istio-system and its {@code subset} if not null; its {@code gateway} on {@code gatewayPort}) and
   * the TLS origination of one external host.
   */
  private String external(String host, int httpsPort, String service, String gateway, int gatewayPort, String subset) {
    String name = host.substring(0, host.indexOf('.'));
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: %1$s
        spec:
          hosts:
          - %2$s
          location: MESH_EXTERNAL
          ports:
          - number: 80
            name: http
            protocol: HTTP
            targetPort: %3$d
          - number: 443
            name: https
            protocol: HTTPS
            targetPort: %4$d
          resolution: STATIC
          endpoints:
          - address: 127.0.0.1
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: direct-%1$s-through-egress-gateway
        spec:
          hosts:
          - %2$s
          gateways:
          - %6$s
          - mesh
          http:
          - match:
            - gateways:
              - mesh
              port: 80
            route:
            - destination:
                host: %9$s.istio-system.svc.cluster.local
                %8$s
                port:
                  number: %7$d
              weight: 100
          - match:
            - gateways:
              - %6$s
              port: %7$d
            route:
            - destination:
                host: %2$s
                port:
                  number: 443
              weight: 100
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: originate-tls-for-%1$s
        spec:
          host: %2$s
          trafficPolicy:
            portLevelSettings:
            - port:
                number: 443
              tls:
                mode: SIMPLE
                caCertificates: %5$s
        """.formatted(name, host, direct.getPort(), httpsPort, partnerCa.caCertificate(), gateway, gatewayPort,
            subset == null ? "" : "subset: " + subset, service);
  }

  private Mesh.Builder identity(Mesh.Builder builder, String namespace, String serviceAccount) {
    return GatewayItSupport.identity(control, builder, namespace, serviceAccount);
  }


  /** An HTTPS server on loopback with {@code certificate}, answering {@code body} to everything. */
  private static MockWebServer https(OpensslPki.Pair certificate, String body) throws Exception {
    List<Certificate> chain;
    try (var in = Files.newInputStream(certificate.certificate())) {
      chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
    }
    String pem = Files.readString(certificate.key(), StandardCharsets.US_ASCII)
        .replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "");
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("server", KeyFactory.getInstance("EC").generatePrivate(
        new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(pem))), new char[0], chain.toArray(new Certificate[0]));
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, new char[0]);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), null, null);
    MockWebServer server = new MockWebServer();
    server.useHttps(context.getSocketFactory());
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        return new MockResponse.Builder().body(body).build();
      }
    });
    server.start(InetAddress.getByName("127.0.0.1"), 0);
    return server;
  }

  private static void drain(MockWebServer server) throws InterruptedException {
    while (server.takeRequest(0, TimeUnit.SECONDS) != null) {
      // the warm-up call's
    }
  }

  /** What a curl run printed, and how it exited. */
  private record Run(int exit, String output) {}

  private static Run curl(String... args) {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(30, TimeUnit.SECONDS);
      return new Run(process.exitValue(), output.strip());
    } catch (IOException e) {
      throw new IllegalStateException("cannot run curl", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
