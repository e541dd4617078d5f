package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.IstioSamples;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Istio's "Explicit Deny" task, step by step, with Istio's own unmodified policies
 * ({@code istio-io-tasks/security-authz-deny.yaml} in {@code shared/istio-samples} beside the
 * repository; skipped when that is absent), applied in the doc's order to the demo's mesh-control.
 * The policies are written for namespace {@code foo}, where the task deploys httpbin and its
 * {@code curl} client; the demo's own httpbin is in {@code default}, so this test starts both
 * workloads in {@code foo} on the demo's mesh, as the task does, and calls
 * {@code http://httpbin.foo:8000} from {@code curl}. The answers are the ones Istio's page shows:
 * {@code deny-method-get} denies GET and lets POST through; updated with
 * {@code notValues: ["admin"]} it lets {@code x-token: admin} through and denies
 * {@code x-token: guest}; with {@code allow-path-ip} beside it, {@code /ip} is allowed for admin,
 * still denied for guest (DENY comes first), and {@code /get} is denied even for admin (no ALLOW
 * policy matches it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthzDenyTaskIT {
  private static final String TASK = "istio-io-tasks/security-authz-deny.yaml";
  private static final String HTTPBIN = "http://httpbin.foo:8000";
  private static final String DENIED = "RBAC: access denied";

  private List<String> documents;
  private Bookinfo bookinfo;
  private Mesh httpbin;
  private MeshHttpServer httpbinServer;
  private Mesh curl;
  private OkHttpClient client;
  private final ExecutorService handlers = Executors.newCachedThreadPool();

  @BeforeAll
  void startHttpbinAndCurlInNamespaceFoo() throws IOException {
    Optional<Path> task = IstioSamples.file(TASK);
    Assumptions.assumeTrue(task.isPresent(), "shared/istio-samples/" + TASK + " not found beside the repository");
    documents = List.of(Files.readString(task.get()).split("(?m)^---\\s*$"));
    assertThat(documents).hasSize(3);
    bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral());

    int port = freePort();
    httpbin = workload("httpbin").service("httpbin").label("app", "httpbin").label("version", "v1")
        .servePort("http", Httpbin.PORT, port).build();
    httpbinServer = MeshHttpServer.create(httpbin, port);
    httpbinServer.createContext("/", new Httpbin()::handle);
    httpbinServer.setExecutor(handlers);
    httpbinServer.start();
    curl = workload("curl").build();
    client = MeshHttp.client(curl);
    bookinfo.awaitConverged();
  }

  /** A workload in namespace foo with its own identity ({@code foo/<serviceAccount>}) on the demo's mesh. */
  private Mesh.Builder workload(String serviceAccount) {
    CertificateAuthority ca = bookinfo.control().ca().orElseThrow();
    return Mesh.builder()
        .controlServers("127.0.0.1:" + bookinfo.control().xdsPort())
        .namespace("foo").serviceAccount(serviceAccount)
        .certificateAuthority("127.0.0.1:" + bookinfo.control().caGrpcPort(), ca.trustBundle().toPem(),
            ca.joinTokens().create("foo", serviceAccount, Duration.ofHours(1)).value())
        .readyTimeout(Bookinfo.WAIT);
  }

  @AfterAll
  void stop() {
    if (curl != null) {
      curl.close();
    }
    if (httpbinServer != null) {
      httpbinServer.close();
    }
    if (httpbin != null) {
      httpbin.close();
    }
    handlers.shutdownNow();
    if (bookinfo != null) {
      bookinfo.close();
    }
  }

  @Test
  @Order(1)
  void withoutPoliciesCurlTalksToHttpbin() throws IOException {
    assertThat(get("/ip", null).code).isEqualTo(200);
  }

  @Test
  @Order(2)
  void denyMethodGetDeniesGetAndAllowsPost() throws IOException {
    apply(0, "deny-method-get");

    Answer get = awaitAnswer(() -> get("/get", null), 403);
    assertThat(get.body).isEqualTo(DENIED);
    assertThat(post("/post").code).isEqualTo(200);
  }

  @Test
  @Order(3)
  void denyingGetUnlessTheTokenIsAdminAllowsAdminAndDeniesGuest() throws IOException {
    apply(1, "deny-method-get");

    awaitAnswer(() -> get("/get", "admin"), 200);
    Answer guest = get("/get", "guest");
    assertThat(guest.code).isEqualTo(403);
    assertThat(guest.body).isEqualTo(DENIED);
  }

  @Test
  @Order(4)
  void allowPathIpAllowsAdminOnIpOnlyAndTheDenyStillComesFirst() throws IOException {
    apply(2, "allow-path-ip");

    awaitAnswer(() -> get("/get", "admin"), 403);
    // the DENY policy takes precedence over the ALLOW policy
    Answer guestOnIp = get("/ip", "guest");
    assertThat(guestOnIp.code).isEqualTo(403);
    assertThat(guestOnIp.body).isEqualTo(DENIED);
    assertThat(get("/ip", "admin").code).isEqualTo(200);
    // no ALLOW policy matches /get, so once one ALLOW policy exists it is denied
    Answer adminOnGet = get("/get", "admin");
    assertThat(adminOnGet.code).isEqualTo(403);
    assertThat(adminOnGet.body).isEqualTo(DENIED);
  }

  private void apply(int index, String name) {
    String document = documents.get(index);
    assertThat(document).contains("name: " + name, "namespace: foo");
    ApplyResult result = bookinfo.control().apply("security-authz-deny.yaml#" + name, document);
    assertThat(result.errors()).as("errors applying %s", name).extracting(Problem::toString).isEmpty();
    bookinfo.awaitConverged();
  }

  private interface Call {
    Answer run() throws IOException;
  }

  /** Calls until the answer has {@code code} (the policy has reached httpbin), and returns that answer. */
  private static Answer awaitAnswer(Call call, int code) {
    Answer[] last = new Answer[1];
    Await.until(() -> {
      try {
        last[0] = call.run();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return last[0].code == code;
    }, Bookinfo.WAIT, "an answer " + code, () -> last[0] == null ? "no answer" : last[0].toString());
    return last[0];
  }

  /** {@code curl "http://httpbin.foo:8000<path>" -X GET -H "x-token: <token>"}. */
  private Answer get(String path, String token) throws IOException {
    Request.Builder request = new Request.Builder().url(HTTPBIN + path);
    if (token != null) {
      request.header("x-token", token);
    }
    return send(request.build());
  }

  /** {@code curl "http://httpbin.foo:8000<path>" -X POST}. */
  private Answer post(String path) throws IOException {
    return send(new Request.Builder().url(HTTPBIN + path)
        .post(RequestBody.create("", MediaType.get("text/plain"))).build());
  }

  private Answer send(Request request) throws IOException {
    try (Response response = client.newCall(request).execute()) {
      return new Answer(response.code(), response.body().string());
    }
  }

  private record Answer(int code, String body) {}

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
