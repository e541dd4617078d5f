package dev.inmesh.benchmarks;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.WorkloadRegistration;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What Inmesh adds to one OkHttp call: an in-process JDK HTTP server on loopback answers every
 * request with 1 KB, for a plain client and for a mesh client whose routing, balancing, retries,
 * trace context, metadata exchange and Istio metrics (into a Prometheus registry) all run. The
 * mesh sends each attempt on its cluster's own OkHttp client, so a server is needed: an
 * interceptor after the mesh's cannot stand in for it. Both clients pay the same loopback round
 * trip, so the difference is the mesh's cost per call; {@code -prof gc} gives the allocation. The
 * third client calls a path whose answers carry Istio's metadata-exchange headers, as a mesh
 * server's do (nginx's in the loopback harness do not), so the mesh reads the server's workload for
 * its metrics too.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class InterceptorBenchmark {
  private static final byte[] BODY = new byte[1024];
  private static final PeerMetadata SERVER = new PeerMetadata("backend-v1", "default", Map.of("app", "backend", "version", "v1"));
  private static final int PORT = 18080;

  private com.sun.net.httpserver.HttpServer server;
  private MeshControl control;
  private ManagedChannel channel;
  private WorkloadRegistration registration;
  private Mesh mesh;
  private OkHttpClient plain;
  private OkHttpClient inmesh;
  private Request plainRequest;
  private Request meshRequest;
  private Request meshServerRequest;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    // the JDK server writes the headers and the body apart: without TCP_NODELAY the body waits for
    // the client's delayed ACK (40 ms), which would hide everything else in the figure
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", PORT), 64);
    server.createContext("/", exchange -> {
      if (exchange.getRequestURI().getPath().equals("/mesh-server")) {
        exchange.getResponseHeaders().add(PeerMetadata.HEADER, SERVER.encode());
        exchange.getResponseHeaders().add(PeerMetadata.ID_HEADER, SERVER.id());
      }
      exchange.getResponseHeaders().add("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, BODY.length);
      try (var out = exchange.getResponseBody()) {
        out.write(BODY);
      }
    });
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    server.start();
    control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds());
    channel = NettyChannelBuilder.forTarget("127.0.0.1:" + control.xdsPort()).usePlaintext().build();
    registration = WorkloadRegistration.start(channel, new WorkloadMetadata("backend", "default", "backend", "backend-v1",
        Map.of("app", "backend", "version", "v1"), "127.0.0.1", List.of(new ServicePort("http", 8080, 18080, "HTTP")), null));
    mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default")
        .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build();
    Await.until(() -> control.workloads().size() == 1, Duration.ofSeconds(10), "the backend to register");
    mesh.awaitReady(Duration.ofSeconds(10));
    // ready means a complete config, which may predate the backend's registration
    Await.until(() -> mesh.snapshot().listener("backend", 8080, 80).isPresent(), Duration.ofSeconds(10),
        "the mesh to know backend:8080");
    plain = new OkHttpClient.Builder().build();
    inmesh = MeshHttp.client(mesh);
    plainRequest = new Request.Builder().url("http://127.0.0.1:" + PORT + "/").build();
    meshRequest = new Request.Builder().url("http://backend:8080/").build();
    meshServerRequest = new Request.Builder().url("http://backend:8080/mesh-server").build();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    mesh.close();
    registration.close();
    channel.shutdownNow();
    control.close();
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }

  @Benchmark
  public int plainOkHttp() throws IOException {
    try (Response response = plain.newCall(plainRequest).execute()) {
      return response.body().bytes().length;
    }
  }

  @Benchmark
  public int throughInmesh() throws IOException {
    return meshCall(meshRequest);
  }

  @Benchmark
  public int throughInmeshToAMeshServer() throws IOException {
    return meshCall(meshServerRequest);
  }

  private int meshCall(Request request) throws IOException {
    try (Response response = inmesh.newCall(request).execute()) {
      if (response.code() != 200) {
        throw new IOException("the mesh answered " + response.code());
      }
      if (response.header(PeerMetadata.HEADER) != null) {
        throw new IOException("the mesh handed the server's metadata exchange on to the caller");
      }
      return response.body().bytes().length;
    }
  }
}
