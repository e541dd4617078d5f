package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.security.CertificateManager;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
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
 * Auto-mTLS from an OkHttp client: mesh-control with its embedded CA, a {@code reviews} workload
 * whose MockWebServer requires a client certificate and serves the workload's own mesh
 * certificate, and a client workload that got its certificate with a join token.
 */
class MeshHttpMutualTlsIT {
  @TempDir
  Path configDir;
  MeshControl control;
  MockWebServer reviewsServer;
  int reviewsPort;
  Mesh reviews;
  Mesh productpage;

  @BeforeEach
  void start() throws Exception {
    control = MeshControl.start(MeshControlOptions.ephemeral().withConfigDir(configDir).withXdsReadOnlyPort(0)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)));
    int port = HttpMesh.freePort();
    reviewsPort = port;
    reviews = workload("reviews", "reviews-sa").service("reviews").label("app", "reviews").servePort("http", 9080, port).build();
    reviewsServer = new MockWebServer();
    reviewsServer.useHttps(HttpMesh.serverContext(reviews.certificates().orElseThrow()).getSocketFactory());
    reviewsServer.requireClientAuth();
    reviewsServer.enqueue(new MockResponse.Builder().body("reviews over mTLS").build());
    reviewsServer.enqueue(new MockResponse.Builder().body("again").build());
    reviewsServer.start(port);
    productpage = workload("productpage", "productpage-sa").build();
    productpage.awaitReady(Duration.ofSeconds(10));
    HttpMesh.await(() -> control.workloads().size() == 1 && control.converged(), Duration.ofSeconds(10),
        "reviews to register and every client to hold it");
  }

  @AfterEach
  void stop() throws Exception {
    if (productpage != null) {
      productpage.close();
    }
    if (reviews != null) {
      reviews.close();
    }
    if (reviewsServer != null) {
      reviewsServer.close();
    }
    control.close();
  }

  @Test
  void aClientWithAMeshCertificateCallsAMeshWorkloadOverMutualTlsAndPresentsItsSpiffeId() throws Exception {
    OkHttpClient client = MeshHttp.client(productpage);

    try (Response response = client.newCall(new Request.Builder().url("http://reviews:9080/reviews/1").build()).execute()) {
      assertThat(response.code()).isEqualTo(200);
      assertThat(response.body().string()).isEqualTo("reviews over mTLS");
    }

    RecordedRequest recorded = reviewsServer.takeRequest(5, TimeUnit.SECONDS);
    assertThat(recorded.getHandshake()).as("the request came over TLS").isNotNull();
    X509Certificate peer = (X509Certificate) recorded.getHandshake().peerCertificates().get(0);
    assertThat(SpiffeId.of(peer).map(Object::toString)).hasValue("spiffe://cluster.local/ns/default/sa/productpage-sa");
    assertThat(recorded.getUrl().encodedPath()).isEqualTo("/reviews/1");
  }

  @Test
  void anEndpointWithoutMtlsDoesNotDowngradeTheOthersOfItsService() throws Exception {
    // a second reviews that speaks no mesh mTLS: registered by a workload of the namespace, marked tlsMode: disabled
    int port = HttpMesh.freePort();
    try (MockWebServer plain = new MockWebServer();
         Mesh plainWorkload = workload("reviews-plain", "reviews-plain-sa").service("reviews").label("app", "reviews")
             .label("security.istio.io/tlsMode", "disabled").servePort("http", 9080, port).build()) {
      for (int i = 0; i < 40; i++) {
        plain.enqueue(new MockResponse.Builder().body("plain").build());
        reviewsServer.enqueue(new MockResponse.Builder().body("mtls").build());
      }
      plain.start(port);
      HttpMesh.await(() -> control.workloads().size() == 2 && control.converged(), Duration.ofSeconds(10),
          "the plaintext reviews to register and every client to hold it");
      OkHttpClient client = MeshHttp.client(productpage);
      java.util.Map<String, Integer> answers = new java.util.TreeMap<>();
      for (int i = 0; i < 40; i++) {
        try (Response response = client.newCall(new Request.Builder().url("http://reviews:9080/reviews/" + i).build()).execute()) {
          answers.merge(response.code() + " " + response.body().string(), 1, Integer::sum);
        }
      }
      assertThat(answers.keySet()).as("every call answered, by both: %s", answers)
          .allSatisfy(answer -> assertThat(answer).startsWith("200 "));
      assertThat(plain.getRequestCount()).as("the plaintext endpoint got its share").isPositive();
      RecordedRequest secure;
      int overTls = 0;
      while ((secure = reviewsServer.takeRequest(100, TimeUnit.MILLISECONDS)) != null) {
        assertThat(secure.getHandshake()).as("every call to the mTLS endpoint still comes over TLS").isNotNull();
        overTls++;
      }
      assertThat(overTls).as("the mTLS endpoint got its share").isPositive();
      assertThat(overTls + plain.getRequestCount()).isGreaterThanOrEqualTo(40);
    }
  }

  @Test
  void pooledConnectionsTheServerClosedWhileIdleAreReplacedNotFailed() throws Exception {
    // ratings answers one request per connection, then closes it a moment later, as a server
    // closes idle connections (the JDK's after 30 s): the client still holds them in its pool
    int port = HttpMesh.freePort();
    try (Mesh ratings = workload("ratings", "ratings-sa").service("ratings").label("app", "ratings")
             .servePort("http", 9080, port).build();
         SSLServerSocket server = (SSLServerSocket) HttpMesh.serverContext(ratings.certificates().orElseThrow())
             .getServerSocketFactory().createServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
      server.setNeedClientAuth(true);
      Thread serving = new Thread(() -> answerOnceThenCloseLater(server), "ratings");
      serving.setDaemon(true);
      serving.start();
      HttpMesh.await(() -> control.workloads().size() == 2 && control.converged(), Duration.ofSeconds(10),
          "ratings to register and every client to hold it");
      OkHttpClient client = MeshHttp.client(productpage);
      ExecutorService callers = Executors.newFixedThreadPool(4);
      try {
        // four at once: four connections, more than the mesh's own retries would try
        List<Future<Integer>> burst = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          burst.add(callers.submit(() -> status(client, "http://ratings:9080/burst")));
        }
        for (Future<Integer> call : burst) {
          assertThat(call.get(10, TimeUnit.SECONDS)).isEqualTo(200);
        }
      } finally {
        callers.shutdownNow();
      }
      Thread.sleep(500);

      assertThat(status(client, "http://ratings:9080/after")).as("a call after the server closed the pooled connections")
          .isEqualTo(200);
    }
  }

  @Test
  void aRouteTimeoutOverMutualTlsIsAnswered504UtNotThrown() throws Exception {
    Files.writeString(configDir.resolve("reviews-timeout.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - timeout: 500ms
            retries:
              attempts: 0
            route:
            - destination: {host: reviews}
        """);
    control.rescan();
    HttpMesh.await(control::converged, Duration.ofSeconds(10), "every client to hold the timeout");
    reviewsServer.close();
    // a server that takes the handshake and never answers in time
    try (MockWebServer slow = new MockWebServer()) {
      slow.useHttps(HttpMesh.serverContext(reviews.certificates().orElseThrow()).getSocketFactory());
      slow.requireClientAuth();
      slow.enqueue(new MockResponse.Builder().headersDelay(5, TimeUnit.SECONDS).body("late").build());
      slow.start(reviewsPort);
      OkHttpClient client = MeshHttp.client(productpage);

      try (Response response = client.newCall(new Request.Builder().url("http://reviews:9080/reviews/1").build()).execute()) {
        assertThat(response.code()).isEqualTo(504);
        assertThat(response.header("x-inmesh-flags")).isEqualTo("UT");
      }
    }
  }

  private static int status(OkHttpClient client, String url) throws IOException {
    try (Response response = client.newCall(new Request.Builder().url(url).build()).execute()) {
      response.body().string();
      return response.code();
    }
  }

  /** Answers the first request on each connection, then closes the connection 200 ms later. */
  private static void answerOnceThenCloseLater(SSLServerSocket server) {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        Thread connection = new Thread(() -> {
          try (socket) {
            java.io.InputStream in = socket.getInputStream();
            int matched = 0;
            byte[] end = {'\r', '\n', '\r', '\n'};
            while (matched < 4) {
              int b = in.read();
              if (b < 0) {
                return;
              }
              matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            Thread.sleep(200);
          } catch (IOException | InterruptedException e) {
            // the client went away first
          }
        });
        connection.setDaemon(true);
        connection.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  @Test
  void aServerWithAnotherIdentityThanTheDestinationRuleNamesIsRefused() throws Exception {
    write("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
          trafficPolicy:
            tls:
              mode: ISTIO_MUTUAL
              subjectAltNames: ["spiffe://cluster.local/ns/default/sa/someone-else"]
        """);
    OkHttpClient client = MeshHttp.client(productpage);

    try (Response response = client.newCall(new Request.Builder().url("http://reviews:9080/").build()).execute()) {
      assertThat(response.code()).isEqualTo(503);
      assertThat(response.body().string()).startsWith("upstream connect error");
    }
    assertThat(reviewsServer.getRequestCount()).as("no request reached the server").isZero();
  }

  @Test
  void aClientWithoutACertificateIsToldWhyWhenTheDestinationRequiresMutualTls() throws Exception {
    write("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
          trafficPolicy:
            tls: {mode: ISTIO_MUTUAL}
        """);
    // without a certificate, config comes from the read-only port
    try (Mesh plain = Mesh.builder().controlServers("127.0.0.1:" + control.xdsReadOnlyPort().getAsInt()).build()) {
      plain.awaitReady(Duration.ofSeconds(10));
      HttpMesh.await(control::converged, Duration.ofSeconds(10), "the plain client to hold the config");

      try (Response response = MeshHttp.client(plain).newCall(new Request.Builder().url("http://reviews:9080/").build()).execute()) {
        assertThat(response.code()).isEqualTo(503);
        assertThat(response.body().string()).contains("requires mesh mutual TLS").contains("no certificate");
      }
    }
  }

  private void write(String file, String yaml) throws IOException {
    Files.writeString(configDir.resolve(file), yaml);
    control.rescan();
    HttpMesh.await(control::converged, Duration.ofSeconds(15), "every client to ACK " + file);
  }

  private Mesh.Builder workload(String name, String serviceAccount) {
    String token = control.ca().orElseThrow().joinTokens().create("default", serviceAccount, Duration.ofMinutes(5)).value();
    return Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default").serviceAccount(serviceAccount)
        .certificateAuthority("127.0.0.1:" + control.caGrpcPort(), control.ca().orElseThrow().trustBundle().toPem(), token);
  }
}
