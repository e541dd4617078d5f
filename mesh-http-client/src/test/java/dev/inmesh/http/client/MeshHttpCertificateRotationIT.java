package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.internal.security.CertificateManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two workloads with 30-second certificates call each other over mesh mTLS for two minutes, and
 * the CA's root is rotated in the middle (add the new root, sign under it, retire the old one).
 * Every other response closes its connection, so new handshakes keep happening with whatever
 * certificates are current, while kept-alive connections outlive the certificates they began with.
 * Not one call may fail.
 */
class MeshHttpCertificateRotationIT {
  private static final Duration TTL = Duration.ofSeconds(30);
  // a renewal comes at half-life, so every workload holds a fresh certificate within this
  private static final Duration ONE_RENEWAL = Duration.ofSeconds(20);

  @TempDir
  Path dataDir;

  @Test
  void thirtySecondCertificatesAndARootRotationUnderLoadForTwoMinutesFailNoCall() throws Exception {
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withDataDir(dataDir)
        .withGracePeriod(Duration.ofSeconds(2)));
        MockWebServer server = new MockWebServer()) {
      CertificateAuthority ca = control.ca().orElseThrow();
      X509Certificate firstRoot = ca.rootCertificate();
      int port = HttpMesh.freePort();
      Mesh reviews = workload(control, "reviews-sa").service("reviews").servePort("http", 9080, port).build();
      AtomicInteger served = new AtomicInteger();
      server.useHttps(HttpMesh.serverContext(reviews.certificates().orElseThrow()).getSocketFactory());
      server.requireClientAuth();
      server.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
          MockResponse.Builder response = new MockResponse.Builder().body("ok");
          if (served.incrementAndGet() % 2 == 0) {
            response.setHeader("Connection", "close");
          }
          return response.build();
        }
      });
      server.start(port);
      Mesh productpage = workload(control, "productpage-sa").build();
      Map<String, AtomicInteger> issued = new ConcurrentHashMap<>();
      for (Mesh mesh : List.of(reviews, productpage)) {
        CertificateManager certificates = mesh.certificates().orElseThrow();
        certificates.onEvent(event -> {
          if (event instanceof CertificateManager.CertificateEvent.Issued) {
            issued.computeIfAbsent(certificates.identity().toString(), k -> new AtomicInteger()).incrementAndGet();
          }
        });
      }
      productpage.awaitReady(Duration.ofSeconds(10));
      HttpMesh.await(() -> control.workloads().size() == 1 && control.converged(), Duration.ofSeconds(10),
          "reviews to register and productpage to hold it");

      OkHttpClient client = MeshHttp.client(productpage);
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger ok = new AtomicInteger();
      List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
      Thread load = new Thread(() -> {
        while (running.get()) {
          try (Response response = client.newCall(new Request.Builder().url("http://reviews:9080/").build()).execute()) {
            if (response.code() == 200) {
              ok.incrementAndGet();
            } else {
              failures.add(response.code() + " " + response.body().string());
            }
          } catch (IOException e) {
            failures.add(e.toString());
          }
          HttpMesh.sleep(Duration.ofMillis(20));
        }
      }, "load");
      load.start();

      HttpMesh.sleep(Duration.ofSeconds(30));
      X509Certificate secondRoot = ca.prepareRootRotation();
      HttpMesh.sleep(ONE_RENEWAL);
      assertThat(productpage.certificates().orElseThrow().trustAnchors()).contains(firstRoot, secondRoot);
      assertThat(ca.activateNextRoot()).isEqualTo(firstRoot);
      HttpMesh.sleep(ONE_RENEWAL);
      ca.retireRoot(firstRoot);
      HttpMesh.sleep(Duration.ofSeconds(48));
      running.set(false);
      load.join();

      org.slf4j.LoggerFactory.getLogger(MeshHttpCertificateRotationIT.class).info(
          "two minutes under rotation: {} calls succeeded, {} failed, {} handshakes' worth of closed connections; certificates issued {}",
          ok.get(), failures.size(), served.get() / 2, issued);
      assertThat(failures).as("failed calls").isEmpty();
      assertThat(ok.get()).as("calls made").isGreaterThan(1_000);
      assertThat(issued).as("certificates issued per workload in two minutes of 30-second certificates")
          .allSatisfy((identity, count) -> assertThat(count.get()).isBetween(6, 12));
      for (Mesh mesh : List.of(reviews, productpage)) {
        CertificateManager certificates = mesh.certificates().orElseThrow();
        assertThat(certificates.trustAnchors()).as("the retired root is gone").containsExactly(secondRoot);
        X509Certificate intermediate = certificates.current().chain().get(1);
        assertThat(intermediate.getIssuerX500Principal()).isEqualTo(secondRoot.getSubjectX500Principal());
        intermediate.verify(secondRoot.getPublicKey());
      }
      productpage.close();
      reviews.close();
    }
  }

  private static Mesh.Builder workload(MeshControl control, String serviceAccount) {
    CertificateAuthority ca = control.ca().orElseThrow();
    String token = ca.joinTokens().create("default", serviceAccount, Duration.ofMinutes(5)).value();
    return Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default").serviceAccount(serviceAccount)
        .certificateAuthority("127.0.0.1:" + control.caGrpcPort(), ca.trustBundle().toPem(), token)
        .certificate("cluster.local", TTL);
  }
}
