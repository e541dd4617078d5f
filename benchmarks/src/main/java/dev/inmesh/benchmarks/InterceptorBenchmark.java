package dev.inmesh.benchmarks;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.model.ServicePort;
import dev.inmesh.telemetry.PeerMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.xds.WorkloadMetadata;
import dev.inmesh.xds.WorkloadRegistration;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.Headers;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
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
 * What Inmesh adds to one OkHttp call, without the network: a last interceptor answers every
 * request with 1 KB, for a plain client and for a mesh client whose routing, balancing, retries,
 * trace context, metadata exchange and Istio metrics (into a Prometheus registry) all run. The
 * difference is the CPU cost per call that P5 counts, measured with the noise of sockets removed;
 * {@code -prof gc} gives the allocation. A third client's answers carry Istio's metadata-exchange
 * headers, as a mesh server's do (nginx's in the loopback harness do not), so the mesh reads the
 * server's workload for its metrics too.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class InterceptorBenchmark {
  private static final byte[] BODY = new byte[1024];
  private static final MediaType TEXT = MediaType.get("text/plain");
  private static final Interceptor ANSWER = chain -> new Response.Builder()
      .request(chain.request())
      .protocol(Protocol.HTTP_1_1)
      .code(200)
      .message("OK")
      .body(ResponseBody.create(BODY, TEXT))
      .build();
  private static final PeerMetadata SERVER = new PeerMetadata("backend-v1", "default", Map.of("app", "backend", "version", "v1"));
  /** Built once: OkHttp reads a real server's headers off the wire without checking each value. */
  private static final Headers MESH_SERVER_HEADERS = new Headers.Builder().add(PeerMetadata.HEADER, SERVER.encode())
      .add(PeerMetadata.ID_HEADER, SERVER.id()).build();
  private static final Interceptor MESH_SERVER_ANSWER = chain -> new Response.Builder()
      .request(chain.request())
      .protocol(Protocol.HTTP_1_1)
      .code(200)
      .message("OK")
      .headers(MESH_SERVER_HEADERS)
      .body(ResponseBody.create(BODY, TEXT))
      .build();

  private MeshControl control;
  private ManagedChannel channel;
  private WorkloadRegistration registration;
  private Mesh mesh;
  private OkHttpClient plain;
  private OkHttpClient inmesh;
  private OkHttpClient inmeshToMeshServer;
  private Request plainRequest;
  private Request meshRequest;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds());
    channel = NettyChannelBuilder.forTarget("127.0.0.1:" + control.xdsPort()).usePlaintext().build();
    registration = WorkloadRegistration.start(channel, new WorkloadMetadata("backend", "default", "backend", "backend-v1",
        Map.of("app", "backend", "version", "v1"), "127.0.0.1", List.of(new ServicePort("http", 8080, 18080, "HTTP")), null));
    mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default")
        .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build();
    Await.until(() -> control.workloads().size() == 1, Duration.ofSeconds(10), "the backend to register");
    mesh.awaitReady(Duration.ofSeconds(10));
    plain = new OkHttpClient.Builder().addInterceptor(ANSWER).build();
    inmesh = MeshHttp.decorate(new OkHttpClient.Builder(), mesh).addInterceptor(ANSWER).build();
    inmeshToMeshServer = MeshHttp.decorate(new OkHttpClient.Builder(), mesh).addInterceptor(MESH_SERVER_ANSWER).build();
    plainRequest = new Request.Builder().url("http://127.0.0.1:18080/").build();
    meshRequest = new Request.Builder().url("http://backend:8080/").build();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    mesh.close();
    registration.close();
    channel.shutdownNow();
    control.close();
  }

  @Benchmark
  public int plainOkHttp() throws IOException {
    try (Response response = plain.newCall(plainRequest).execute()) {
      return response.body().bytes().length;
    }
  }

  @Benchmark
  public int throughInmesh() throws IOException {
    return meshCall(inmesh);
  }

  @Benchmark
  public int throughInmeshToAMeshServer() throws IOException {
    return meshCall(inmeshToMeshServer);
  }

  private int meshCall(OkHttpClient client) throws IOException {
    try (Response response = client.newCall(meshRequest).execute()) {
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
