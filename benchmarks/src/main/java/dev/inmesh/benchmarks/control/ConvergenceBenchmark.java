package dev.inmesh.benchmarks.control;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.WorkloadRegistration;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * P8: a config change reaching 1,000 ADS clients, all ACKed. The clients are real ADS streams
 * over gRPC to a real mesh-control in this JVM, each with its own node, subscribed as an Inmesh
 * client is (LDS, RDS, CDS) and ACKing every response. One VirtualService change is applied
 * through mesh-control's API, and each client's time from the apply call to receiving (and so
 * ACKing) the new route configuration is recorded.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.control.ConvergenceBenchmark [clients] [changes]}
 */
public final class ConvergenceBenchmark {
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String ROUTE = "reviews.default.svc.cluster.local:9080";

  private ConvergenceBenchmark() {}

  /** Per change: each client's milliseconds from the apply to the new routes. */
  public record Result(int clients, List<double[]> changes) {
    public double p50() {
      return percentile(0.5);
    }

    public double max() {
      return changes.stream().mapToDouble(times -> Arrays.stream(times).max().orElse(0)).max().orElse(0);
    }

    /** Over every change: the median client's time, then the median of those. */
    double percentile(double q) {
      double[] all = changes.stream().flatMapToDouble(Arrays::stream).sorted().toArray();
      return all.length == 0 ? 0 : all[(int) Math.min(all.length - 1, Math.floor(q * all.length))];
    }
  }

  public static void main(String[] args) throws Exception {
    int clients = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int changes = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Result result = run(clients, changes, System.out);
    System.out.printf(Locale.ROOT, "%n| P8 | a config change reaches %d clients, all ACKed | p50 %.0f ms, max %.0f ms | p50 ≤ 250 ms, max ≤ 1 s | %s |%n",
        clients, result.p50(), result.max(), result.p50() <= 250 && result.max() <= 1000 ? "PASS" : "FAIL");
  }

  public static Result run(int clients, int changes, PrintStream out) throws Exception {
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds())) {
      List<ManagedChannel> channels = new ArrayList<>();
      List<AutoCloseable> closing = new ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) {
          channels.add(NettyChannelBuilder.forTarget("127.0.0.1:" + control.xdsPort()).usePlaintext().build());
        }
        for (String version : List.of("v1", "v2")) {
          WorkloadRegistration registration = WorkloadRegistration.start(channels.get(0), new WorkloadMetadata("reviews",
              "default", "reviews", "reviews-" + version, Map.of("app", "reviews", "version", version), "127.0.0.1",
              List.of(new ServicePort("http", 9080, version.equals("v1") ? 19081 : 19082, "HTTP")), null));
          closing.add(registration::close);
        }
        Await.until(() -> control.workloads().size() == 2, Duration.ofSeconds(10), "reviews v1 and v2 to register");
        apply(control, DESTINATION_RULE);
        apply(control, split(100));

        List<Client> all = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          all.add(new Client(i, channels.get(i % channels.size())));
        }
        Await.until(() -> all.stream().allMatch(c -> c.routes.get() > 0), Duration.ofSeconds(60),
            "every client to hold the routes");
        out.printf("%d ADS clients connected and holding the routes%n", clients);

        List<double[]> results = new ArrayList<>();
        for (int change = 1; change <= changes; change++) {
          int weight = change % 2 == 0 ? 100 : 90;
          all.forEach(Client::expectChange);
          long start = System.nanoTime();
          apply(control, split(weight));
          Await.until(() -> all.stream().allMatch(Client::changed), Duration.ofSeconds(60), "every client to get the change");
          double[] millis = all.stream().mapToDouble(c -> (c.changedAt - start) / 1e6).sorted().toArray();
          results.add(millis);
          out.printf(Locale.ROOT, "change %d: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d clients%n", change,
              millis[millis.length / 2], millis[(int) (millis.length * 0.99)], millis[millis.length - 1], clients);
          Thread.sleep(500);
        }
        all.forEach(Client::close);
        return new Result(clients, results);
      } finally {
        for (AutoCloseable closeable : closing) {
          closeable.close();
        }
        channels.forEach(ManagedChannel::shutdownNow);
      }
    }
  }

  private static void apply(MeshControl control, String yaml) {
    ApplyResult result = control.apply("benchmark", yaml);
    if (!result.errors().isEmpty()) {
      throw new IllegalStateException("refused: " + result.errors());
    }
  }

  /** One ADS client as an Inmesh client subscribes: LDS and CDS for everything, RDS for the route it uses. */
  private static final class Client implements StreamObserver<DiscoveryResponse> {
    final AtomicLong routes = new AtomicLong();
    private final StreamObserver<DiscoveryRequest> requests;
    private final Node node;
    private volatile String expectedFrom;
    private volatile String routeVersion = "";
    private volatile CountDownLatch change = new CountDownLatch(0);
    volatile long changedAt;

    Client(int id, ManagedChannel channel) {
      this.node = Node.newBuilder().setId("bench~" + id).setUserAgentName("inmesh")
          .setMetadata(Struct.newBuilder().putFields("NAMESPACE", Value.newBuilder().setStringValue("default").build()))
          .build();
      this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(this);
      synchronized (this) {
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(CDS).build());
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(RDS).addResourceNames(ROUTE).build());
      }
    }

    void expectChange() {
      expectedFrom = routeVersion;
      change = new CountDownLatch(1);
    }

    boolean changed() {
      return change.getCount() == 0;
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      long now = System.nanoTime();
      if (response.getTypeUrl().equals(RDS)) {
        boolean has = response.getResourcesList().stream().anyMatch(any -> {
          try {
            return any.unpack(RouteConfiguration.class).getName().equals(ROUTE);
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            return false;
          }
        });
        if (has) {
          routes.incrementAndGet();
          if (expectedFrom != null && !response.getVersionInfo().equals(expectedFrom) && change.getCount() > 0) {
            changedAt = now;
            change.countDown();
          }
          routeVersion = response.getVersionInfo();
        }
      }
      DiscoveryRequest.Builder ack = DiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl())
          .setVersionInfo(response.getVersionInfo()).setResponseNonce(response.getNonce());
      if (response.getTypeUrl().equals(RDS)) {
        ack.addResourceNames(ROUTE);
      }
      synchronized (this) {
        requests.onNext(ack.build());
      }
    }

    @Override
    public void onError(Throwable t) {
      // the benchmark ends the streams; a failure shows as a client that never changes
    }

    @Override
    public void onCompleted() {}

    void close() {
      synchronized (this) {
        requests.onCompleted();
      }
    }
  }

  private static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews, namespace: default}
      spec:
        host: reviews
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
      """;

  private static String split(int v1) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: default}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: %d
            - destination: {host: reviews, subset: v2}
              weight: %d
        """.formatted(v1, 100 - v1);
  }
}
