package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.testing.Await;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Bookinfo's access rule end to end, every part real: productpage and ratings call
 * {@code http://reviews:9080} through their mesh OkHttp clients (auto-mTLS from xDS), reviews serves
 * behind the door under STRICT, and an AuthorizationPolicy lets productpage GET reviews and
 * nothing else, and ratings not at all.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BookinfoAuthorizationIT {
  InboundFixture mesh;
  MeshHttpServer reviews;
  OkHttpClient productpage;
  OkHttpClient ratings;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture();
    int port = InboundFixture.freePort();
    Mesh reviewsMesh = mesh.server("reviews", port);
    reviews = MeshHttpServer.create(reviewsMesh, port);
    reviews.createContext("/", exchange -> {
      PeerInfo peer = (PeerInfo) exchange.getAttribute(PeerInfo.ATTRIBUTE);
      byte[] body = (exchange.getRequestMethod() + " " + exchange.getRequestURI() + " from "
          + peer.principal().map(Object::toString).orElse("-")).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    reviews.start();
    mesh.mtlsMode(reviewsMesh, port, MtlsMode.STRICT);
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: reviews-viewer
          namespace: default
        spec:
          selector:
            matchLabels:
              app: reviews
          action: ALLOW
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/default/sa/productpage"]
            to:
            - operation:
                methods: ["GET"]
                paths: ["/reviews/*"]
        """);
    InboundFixture.awaitPolicy(reviewsMesh, port, p -> !p.authorization().engines().isEmpty(), "the reviews-viewer policy");
    Mesh productpageMesh = mesh.client("productpage");
    Mesh ratingsMesh = mesh.client("ratings");
    productpageMesh.awaitReady(InboundFixture.WAIT);
    ratingsMesh.awaitReady(InboundFixture.WAIT);
    Await.until(mesh.control::converged, InboundFixture.WAIT, "every client to hold the config");
    productpage = MeshHttp.client(productpageMesh);
    ratings = MeshHttp.client(ratingsMesh);
  }

  @AfterAll
  void stop() {
    reviews.close();
    mesh.close();
  }

  @Test
  void productpageMayGetReviewsOverMutualTls() throws IOException {
    assertThat(call(productpage, "GET", "/reviews/1"))
        .isEqualTo("200 GET /reviews/1 from spiffe://cluster.local/ns/default/sa/productpage");
  }

  @Test
  void productpageMayNotPostToReviewsNorGetOtherPaths() throws IOException {
    assertThat(call(productpage, "POST", "/reviews/1")).isEqualTo("403 RBAC: access denied");
    assertThat(call(productpage, "GET", "/admin")).isEqualTo("403 RBAC: access denied");
  }

  @Test
  void ratingsMayNotCallReviewsAtAll() throws IOException {
    assertThat(call(ratings, "GET", "/reviews/1")).isEqualTo("403 RBAC: access denied");
    assertThat(call(ratings, "POST", "/reviews/1")).isEqualTo("403 RBAC: access denied");
  }

  private static String call(OkHttpClient client, String method, String path) throws IOException {
    RequestBody body = method.equals("GET") ? null : RequestBody.create("{}", MediaType.get("application/json"));
    Request request = new Request.Builder().url("http://reviews:9080" + path).method(method, body).build();
    try (Response response = client.newCall(request).execute()) {
      return response.code() + " " + response.body().string();
    }
  }
}
