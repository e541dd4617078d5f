package dev.inmesh.benchmarks.loopback;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.WorkloadRegistration;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * What one call costs the caller's thread: CPU, wall time and bytes allocated per call, one caller
 * back to back against the loopback harness's nginx, plain OkHttp and OkHttp through Inmesh in
 * alternating rounds. Closed loop and hot, unlike P2's open loop at 1,000 rps, where each call runs
 * cold; the allocation figure is exact and does not move with the box's load, so it shows what a
 * change to the per-call path saves. Run it under JFR to see where the time goes.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.CallerCpuProbe
 * [CALLS per round, 20000] [ROUNDS, 6] [plain|inmesh: one variant only]}
 */
public final class CallerCpuProbe {
  public static void main(String[] args) throws Exception {
    int calls = Integer.parseInt(args.length > 0 ? args[0] : "20000");
    int rounds = Integer.parseInt(args.length > 1 ? args[1] : "6");
    String only = args.length > 2 ? args[2] : "";
    Path dir = Files.createTempDirectory("probe-");
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds());
        External nginx = External.nginx(dir, LoopbackHarness.freePort())) {
      ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:" + control.xdsPort()).usePlaintext().build();
      WorkloadRegistration registration = WorkloadRegistration.start(channel, new WorkloadMetadata("backend", "default",
          "backend", "backend-v1", Map.of("app", "backend", "version", "v1"), "127.0.0.1",
          List.of(new ServicePort("http", 8080, nginx.port, "HTTP")), null));
      Mesh mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default")
          .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build();
      Await.until(() -> control.workloads().size() == 1, Duration.ofSeconds(10), "registration");
      mesh.awaitReady(Duration.ofSeconds(10));
      OkHttpClient inmesh = MeshHttp.client(mesh);
      OkHttpClient plain = new OkHttpClient();
      Request meshed = new Request.Builder().url("http://backend:8080/").build();
      Request direct = new Request.Builder().url("http://127.0.0.1:" + nginx.port + "/").build();
      Await.until(() -> {
        try (Response r = inmesh.newCall(meshed).execute()) {
          return r.code() == 200;
        } catch (Exception e) {
          return false;
        }
      }, Duration.ofSeconds(20), "routed");
      ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      for (int round = 0; round < rounds; round++) {
        for (String variant : List.of("plain", "inmesh")) {
          if (!only.isEmpty() && !only.equals(variant)) continue;
          OkHttpClient client = variant.equals("plain") ? plain : inmesh;
          Request request = variant.equals("plain") ? direct : meshed;
          long alloc = ((com.sun.management.ThreadMXBean) mx).getCurrentThreadAllocatedBytes();
          long cpu = mx.getCurrentThreadCpuTime();
          long wall = System.nanoTime();
          for (int i = 0; i < calls; i++) {
            try (Response response = client.newCall(request).execute()) {
              response.body().bytes();
            }
          }
          System.out.printf("round %d %-6s cpu %6.1f µs  wall %6.1f µs  alloc %6d B%n", round, variant,
              (mx.getCurrentThreadCpuTime() - cpu) / 1e3 / calls, (System.nanoTime() - wall) / 1e3 / calls,
              (((com.sun.management.ThreadMXBean) mx).getCurrentThreadAllocatedBytes() - alloc) / calls);
        }
      }
      mesh.close();
      registration.close();
      channel.shutdownNow();
    }
  }
}
