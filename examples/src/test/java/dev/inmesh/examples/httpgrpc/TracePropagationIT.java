package dev.inmesh.examples.httpgrpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.grpc.MeshGrpc;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.testing.AccessLogCapture;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.RecordingTracer;
import dev.inmesh.tracing.MicrometerTracing;
import dev.inmesh.tracing.Tracing;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
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
    try (GrpcMesh mesh = new GrpcMesh(); Hops hops = new Hops(mesh, Tracing.NONE, Tracing.NONE, Tracing.NONE);
        AccessLogCapture log = new AccessLogCapture()) {
      try (Response response = hops.http.newCall(new Request.Builder().url("http://productpage:9080/")
          .header("traceparent", "00-" + TRACE + "-00f067aa0ba902b7-01").build()).execute()) {
        assertThat(response.code()).isEqualTo(200);
        assertThat(response.body().string()).isEqualTo("v1: hello from productpage");
      }

      assertThat(hops.seen.get()).as("the greeter's traceparent").startsWith("00-" + TRACE + "-").endsWith("-01")
          .doesNotContain("00f067aa0ba902b7");
      // one access log line per side of each hop, in Envoy's default format
      Await.until(() -> log.lines().size() == 4, GrpcMesh.WAIT, "four access log lines", () -> log.lines().toString());
      assertThat(log.lines()).filteredOn(line -> line.contains("\"GET / HTTP/1.1\" 200 - ")).hasSize(2);
      assertThat(log.lines()).filteredOn(line -> line.contains("\"POST /inmesh.testing.Greeter/SayHello HTTP/2\" 200 - "))
          .hasSize(2);
    }
  }

  /**
   * Through the door to the next hop: a caller's trace context with a tracestate reaches
   * productpage, whose gRPC call to the greeter carries B3 (for a Zipkin-traced sidecar, Istio's
   * default) beside traceparent, with the same trace, a new span whose parent is the caller's, and
   * the caller's tracestate unchanged.
   */
  @Test
  void b3AndTracestateCarryOnThroughTheDoorToTheNextHop() throws Exception {
    try (GrpcMesh mesh = new GrpcMesh(); Hops hops = new Hops(mesh, Tracing.NONE, Tracing.NONE, Tracing.NONE)) {
      try (Response response = hops.http.newCall(new Request.Builder().url("http://productpage:9080/")
          .header("traceparent", "00-" + TRACE + "-00f067aa0ba902b7-01")
          .header("tracestate", "congo=t61rcWkgMzE")
          .build()).execute()) {
        assertThat(response.code()).isEqualTo(200);
      }

      Metadata sent = hops.headers.get();
      assertThat(sent.get(key("x-b3-traceid"))).isEqualTo(TRACE);
      assertThat(sent.get(key("x-b3-parentspanid"))).as("the door's context: the caller's span").isEqualTo("00f067aa0ba902b7");
      assertThat(sent.get(key("x-b3-spanid"))).matches("[0-9a-f]{16}").isNotEqualTo("00f067aa0ba902b7");
      assertThat(sent.get(key("x-b3-sampled"))).isEqualTo("1");
      assertThat(sent.get(key("traceparent"))).isEqualTo("00-" + TRACE + "-" + sent.get(key("x-b3-spanid")) + "-01");
      assertThat(sent.get(key("tracestate"))).isEqualTo("congo=t61rcWkgMzE");
    }
  }

  private static Metadata.Key<String> key(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  /**
   * With a tracer per service (OpenTelemetry's SDK behind Micrometer Tracing), each hop records a
   * span: the browser's client span, productpage's server span and its gRPC client span, the
   * greeter's server span, each the parent of the next, under one trace id, with the ids that went
   * on the wire.
   */
  @Test
  void eachHopRecordsItsSpanThroughTheAppsTracer() throws Exception {
    RecordingTracer browser = new RecordingTracer();
    RecordingTracer productpage = new RecordingTracer();
    RecordingTracer greeter = new RecordingTracer();
    try (GrpcMesh mesh = new GrpcMesh(); Hops hops = new Hops(mesh, new MicrometerTracing(browser.tracer()),
        new MicrometerTracing(productpage.tracer()), new MicrometerTracing(greeter.tracer()))) {
      try (Response response = hops.http.newCall(new Request.Builder().url("http://productpage:9080/").build()).execute()) {
        assertThat(response.code()).isEqualTo(200);
      }
      Await.until(() -> greeter.spans().size() == 1 && productpage.spans().size() == 2 && browser.spans().size() == 1,
          GrpcMesh.WAIT, "one span from each hop");

      SpanData sent = browser.spans().get(0);
      SpanData served = only(productpage.spans(), SpanKind.SERVER);
      SpanData called = only(productpage.spans(), SpanKind.CLIENT);
      SpanData answered = greeter.spans().get(0);
      assertThat(sent.getKind()).isEqualTo(SpanKind.CLIENT);
      assertThat(sent.getName()).isEqualTo("productpage:9080/*");
      assertThat(sent.getParentSpanContext().isValid()).as("the first hop starts the trace").isFalse();
      assertThat(served.getName()).isEqualTo("productpage.default.svc.cluster.local:9080/*");
      assertThat(served.getParentSpanId()).isEqualTo(sent.getSpanId());
      assertThat(called.getParentSpanId()).isEqualTo(served.getSpanId());
      assertThat(answered.getKind()).isEqualTo(SpanKind.SERVER);
      assertThat(answered.getName()).isEqualTo("greeter.default.svc.cluster.local:9000/*");
      assertThat(answered.getParentSpanId()).isEqualTo(called.getSpanId());
      assertThat(List.of(served, called, answered)).extracting(SpanData::getTraceId).containsOnly(sent.getTraceId());
      assertThat(hops.seen.get()).isEqualTo("00-" + sent.getTraceId() + "-" + called.getSpanId() + "-01");
      assertThat(sent.getAttributes().get(AttributeKey.stringKey("http.status_code"))).isEqualTo("200");
      assertThat(answered.getAttributes().get(AttributeKey.stringKey("grpc.path"))).isEqualTo("/inmesh.testing.Greeter/SayHello");
      assertThat(answered.getAttributes().get(AttributeKey.stringKey("grpc.status_code"))).isEqualTo("0");
    }
  }

  private static SpanData only(List<SpanData> spans, SpanKind kind) {
    List<SpanData> found = spans.stream().filter(span -> span.getKind() == kind).toList();
    assertThat(found).as(kind + " spans").hasSize(1);
    return found.get(0);
  }

  /** A browser client, productpage (a JDK server behind the door) and the greeter it calls over gRPC. */
  private static final class Hops implements AutoCloseable {
    final AtomicReference<String> seen = new AtomicReference<>();
    final AtomicReference<Metadata> headers = new AtomicReference<>();
    final OkHttpClient http;
    private final Server greeter;
    private final MeshHttpServer productpage;
    private final Mesh greeterMesh;
    private final Mesh productpageMesh;
    private final Mesh client;

    Hops(GrpcMesh mesh, Tracing browserTracing, Tracing productpageTracing, Tracing greeterTracing) throws Exception {
      int greeterPort = GrpcMesh.freePort();
      greeterMesh = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("greeter"), "greeter")
          .service("greeter")
          .servePort("grpc", 9000, greeterPort).tracing(greeterTracing).build();
      ServerInterceptor record = new ServerInterceptor() {
        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
          seen.set(headers.get(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER)));
          Hops.this.headers.set(headers);
          return next.startCall(call, headers);
        }
      };
      greeter = MeshGrpc.server(greeterMesh, greeterPort,
          ServerInterceptors.intercept(Greeter.service("v1", Duration.ZERO), record)).start();

      int productpagePort = GrpcMesh.freePort();
      productpageMesh = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("productpage"), "productpage")
          .service("productpage")
          .servePort("http", 9080, productpagePort).tracing(productpageTracing).build();
      ManagedChannel toGreeter = mesh.channel(productpageMesh, "greeter:9000");
      productpage = MeshHttpServer.create(productpageMesh, productpagePort);
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
      client = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default").serviceAccount("browser"), "browser")
          .tracing(browserTracing).build();
      client.awaitReady(GrpcMesh.WAIT);
      Await.until(() -> productpageMesh.inbound(productpagePort).isPresent(), GrpcMesh.WAIT, "productpage's inbound policy");
      mesh.awaitConverged();
      http = MeshHttp.client(client);
    }

    @Override
    public void close() throws Exception {
      productpage.close();
      greeter.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      productpageMesh.close();
      greeterMesh.close();
      client.close();
    }
  }
}
