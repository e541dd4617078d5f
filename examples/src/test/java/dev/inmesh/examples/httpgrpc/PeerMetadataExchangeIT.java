package dev.inmesh.examples.httpgrpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.grpc.MeshGrpc;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * Istio's metadata exchange between Inmesh workloads: productpage calls reviews over HTTP and the
 * greeter over gRPC (once through an xDS server, once through the permissive door), all over mutual
 * TLS (STRICT), so that each side's certificate vouches for the metadata it sends. Each side's
 * Istio metrics name the other side's workload, app and version, not {@code unknown}, and the
 * exchange headers never reach the calling app.
 */
class PeerMetadataExchangeIT {
  private final SimpleMeterRegistry productpageMeters = new SimpleMeterRegistry();
  private final SimpleMeterRegistry reviewsMeters = new SimpleMeterRegistry();
  private final SimpleMeterRegistry greeterMeters = new SimpleMeterRegistry();
  private final SimpleMeterRegistry ratingsMeters = new SimpleMeterRegistry();

  @Test
  void eachSideReportsTheOthersWorkloadAppAndVersion() throws Exception {
    try (GrpcMesh mesh = new GrpcMesh()) {
      // metadata is believed from a certificate of its namespace only; under PERMISSIVE gRPC ports are plaintext
      mesh.apply("""
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: {name: default, namespace: default}
          spec: {mtls: {mode: STRICT}}
          """);
      int reviewsPort = GrpcMesh.freePort();
      Mesh reviews = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("reviews"), "reviews")
          .service("reviews")
          .label("app", "reviews").label("version", "v2").servePort("http", 9080, reviewsPort).meterRegistry(reviewsMeters).build();
      AtomicReference<String> reviewsSaw = new AtomicReference<>();
      MeshHttpServer reviewsServer = MeshHttpServer.create(reviews, reviewsPort);
      reviewsServer.createContext("/", exchange -> {
        reviewsSaw.set(exchange.getRequestHeaders().getFirst(PeerMetadata.HEADER));
        byte[] body = "stars".getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      reviewsServer.start();
      int greeterPort = GrpcMesh.freePort();
      Mesh greeter = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("greeter"), "greeter")
          .service("greeter")
          .label("app", "greeter").label("version", "v3").servePort("grpc", 9000, greeterPort).meterRegistry(greeterMeters).build();
      Server greeterServer = MeshGrpc.server(greeter, greeterPort, Greeter.service("v3", Duration.ZERO)).start();
      int ratingsPort = GrpcMesh.freePort();
      Mesh ratings = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("ratings"), "ratings")
          .service("ratings")
          .label("app", "ratings").label("version", "v1").servePort("http2", 9090, ratingsPort).meterRegistry(ratingsMeters).build();
      Server ratingsServer = MeshGrpc.permissiveServer(ratings, ratingsPort, Greeter.service("v1", Duration.ZERO)).start();
      int productpagePort = GrpcMesh.freePort();
      Mesh productpage = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("productpage"), "productpage")
          .service("productpage")
          .label("app", "productpage").label("version", "v1").servePort("http", 9080, productpagePort)
          .meterRegistry(productpageMeters).build();
      try {
        mesh.awaitWorkloads(4);
        productpage.awaitReady(GrpcMesh.WAIT);
        Await.until(() -> reviews.inbound(reviewsPort).isPresent() && ratings.inbound(ratingsPort).isPresent(), GrpcMesh.WAIT,
            "the servers' inbound policies");
        mesh.awaitConverged();
        OkHttpClient http = MeshHttp.client(productpage);
        ManagedChannel toGreeter = mesh.channel(productpage, "greeter:9000");
        ManagedChannel toRatings = mesh.channel(productpage, "ratings:9090");

        try (Response response = http.newCall(new Request.Builder().url("http://reviews:9080/reviews/1").build()).execute()) {
          assertThat(response.body().string()).isEqualTo("stars");
          assertThat(response.header(PeerMetadata.HEADER)).as("the exchange stays in the mesh").isNull();
        }
        assertThat(GrpcMesh.call(toGreeter, Map.of())).isEqualTo("v3");
        assertThat(GrpcMesh.call(toRatings, Map.of())).isEqualTo("v1");

        assertThat(PeerMetadata.decode(reviewsSaw.get())).map(PeerMetadata::workload).contains("productpage");
        // client side: the destination's labels came back in the response
        assertThat(count(productpageMeters, "source", "reviews", "v2")).isEqualTo(1);
        assertThat(count(productpageMeters, "source", "greeter", "v3")).isEqualTo(1);
        assertThat(count(productpageMeters, "source", "ratings", "v1")).isEqualTo(1);
        // server side: the caller's labels came with the request
        Await.until(() -> count(reviewsMeters, "destination", "reviews", "v2") == 1
            && count(greeterMeters, "destination", "greeter", "v3") == 1
            && count(ratingsMeters, "destination", "ratings", "v1") == 1, GrpcMesh.WAIT, "the servers' request counts");
      } finally {
        reviewsServer.close();
        greeterServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        ratingsServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        productpage.close();
        reviews.close();
        greeter.close();
        ratings.close();
      }
    }
  }

  /** Requests between productpage v1 and {@code destination}, with both sides' labels filled in. */
  private static double count(SimpleMeterRegistry registry, String reporter, String destination, String version) {
    Counter counter = registry.find("istio.requests").tag("reporter", reporter)
        .tag("source_workload", "productpage").tag("source_app", "productpage").tag("source_version", "v1")
        .tag("source_canonical_service", "productpage")
        .tag("destination_workload", destination).tag("destination_app", destination).tag("destination_version", version)
        .tag("destination_canonical_revision", version)
        .counter();
    return counter == null ? 0 : counter.count();
  }
}
