package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
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
 * One trace id across two hops, HTTP then gRPC: an OkHttp mesh client calls {@code productpage}
 * (a JDK server behind the door), whose handler calls the greeter over a MeshGrpc channel; the
 * greeter sees the trace id the first caller sent, in a span of its own.
 */
class TracePropagationIT {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

  @Test
  void aTraceIdCarriesOnFromHttpToGrpc() throws Exception {
    try (GrpcMesh mesh = new GrpcMesh()) {
      AtomicReference<String> seen = new AtomicReference<>();
      int greeterPort = GrpcMesh.freePort();
      Mesh greeterMesh = Mesh.builder().controlServers(mesh.xds()).namespace("default").service("greeter")
          .servePort("grpc", 9000, greeterPort).build();
      ServerInterceptor record = new ServerInterceptor() {
        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
          seen.set(headers.get(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER)));
          return next.startCall(call, headers);
        }
      };
      Server greeter = MeshGrpc.server(greeterMesh, greeterPort,
          ServerInterceptors.intercept(Greeter.service("v1", Duration.ZERO), record)).start();

      int productpagePort = GrpcMesh.freePort();
      Mesh productpageMesh = Mesh.builder().controlServers(mesh.xds()).namespace("default").service("productpage")
          .servePort("http", 9080, productpagePort).build();
      ManagedChannel toGreeter = mesh.channel(productpageMesh, "greeter:9000");
      MeshHttpServer productpage = MeshHttpServer.create(productpageMesh, productpagePort);
      productpage.createContext("/", exchange -> {
        byte[] body = Greeter.sayHello(toGreeter, "from productpage", Map.of(), Duration.ofSeconds(5))
            .getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      productpage.start();
      mesh.awaitWorkloads(2);
      Mesh client = mesh.client("browser", false);
      client.awaitReady(GrpcMesh.WAIT);
      Await.until(() -> productpageMesh.inbound(productpagePort).isPresent(), GrpcMesh.WAIT, "productpage's inbound policy");
      mesh.awaitConverged();
      OkHttpClient http = MeshHttp.client(client);

      try (Response response = http.newCall(new Request.Builder().url("http://productpage:9080/")
          .header("traceparent", "00-" + TRACE + "-00f067aa0ba902b7-01").build()).execute()) {
        assertThat(response.code()).isEqualTo(200);
        assertThat(response.body().string()).isEqualTo("v1: hello from productpage");
      }

      assertThat(seen.get()).as("the greeter's traceparent").startsWith("00-" + TRACE + "-").endsWith("-01")
          .doesNotContain("00f067aa0ba902b7");
      productpage.close();
      greeter.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      productpageMesh.close();
      greeterMesh.close();
    }
  }
}
