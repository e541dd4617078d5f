package dev.inmesh.internal.outbound;

import dev.inmesh.MeshSnapshot;
import dev.inmesh.TestSnapshots;
import dev.inmesh.Ticker;
import dev.inmesh.internal.balancing.BalancerConfig;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.internal.resilience.FaultConfig;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import dev.inmesh.internal.routing.Route;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import dev.inmesh.internal.routing.RouteMatch;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.StringMatcher;
import dev.inmesh.internal.routing.VirtualHost;
import dev.inmesh.internal.xds.XdsResources;
import dev.inmesh.spi.RequestView;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The config a pipeline test runs against, as the ADS client would have accepted it: one listener
 * for {@code reviews:9080}, the routes and clusters the test adds, a clock that moves only when the
 * pipeline waits (a fault delay, a backoff) or the test says, and seeded randomness.
 */
final class Scene {
  static final String LISTENER = "reviews:9080";
  static final String V1 = "outbound|9080|v1|reviews.default.svc.cluster.local";
  static final String V2 = "outbound|9080|v2|reviews.default.svc.cluster.local";

  final ManualTicker ticker = new ManualTicker();
  final SplittableRandom random = new SplittableRandom(7);
  final List<Duration> sleeps = new ArrayList<>();
  private final List<Route> routes = new ArrayList<>();
  private final Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
  private final Map<String, List<Endpoint>> endpoints = new LinkedHashMap<>();
  private final Map<String, RouteTable> gatewayRoutes = new LinkedHashMap<>();
  private boolean routesArrived = true;
  private boolean certificate;
  private MeshSnapshot snapshot;

  /** Time that moves only when the pipeline sleeps or a test advances it; starts near overflow to catch naive comparisons. */
  static final class ManualTicker implements Ticker {
    private long nanos = Long.MAX_VALUE - Duration.ofHours(1).toNanos();

    @Override
    public long nanoTime() {
      return nanos;
    }

    void advance(Duration duration) {
      nanos += duration.toNanos();
    }
  }

  Scene route(String name, String pathPrefix, RouteAction action) {
    routes.add(new Route(name, new RouteMatch(new StringMatcher.Prefix(pathPrefix, false), List.of(), List.of()), action));
    return this;
  }

  Scene cluster(String name, Endpoint... members) {
    return cluster(name, ConnectionLimits.defaults(), Optional.empty(), Optional.empty(), members);
  }

  Scene cluster(String name, ConnectionLimits limits, Optional<OutlierDetectionConfig> outliers, Optional<UpstreamTls> tls,
      Endpoint... members) {
    clusters.put(name, new ClusterConfig(name, name, BalancerConfig.ROUND_ROBIN, limits, outliers, Duration.ofSeconds(1), tls));
    endpoints.put(name, List.of(members));
    return this;
  }

  /** A gateway server's route configuration, which gateway calls name in their options. */
  Scene gatewayRoutes(String name, VirtualHost... hosts) {
    gatewayRoutes.put(name, new RouteTable(name, List.of(hosts)));
    return this;
  }

  /** The listener names a route configuration that RDS has not delivered yet. */
  Scene withoutRouteConfiguration() {
    routesArrived = false;
    return this;
  }

  Scene withMeshCertificate() {
    certificate = true;
    return this;
  }

  OutboundPipeline pipeline() {
    ClusterRuntimes runtimes = new ClusterRuntimes(ticker, random, new SimpleMeterRegistry());
    RouteTable table = new RouteTable("reviews-routes", List.of(new VirtualHost("reviews", List.of(LISTENER, "reviews"), routes)));
    Map<String, RouteTable> tables = new LinkedHashMap<>(gatewayRoutes);
    if (routesArrived) {
      tables.put("reviews-routes", table);
    }
    XdsResources resources = new XdsResources(
        Map.of(LISTENER, new ListenerConfig(LISTENER, "reviews-routes", Optional.empty())), Map.of(),
        tables, clusters, endpoints, Map.of(), Map.of(), true);
    snapshot = TestSnapshots.of(resources, runtimes);
    MeshSnapshot config = snapshot;
    boolean hasCertificate = certificate;
    SnapshotSource source = new SnapshotSource() {
      @Override
      public MeshSnapshot ready() {
        return config;
      }

      @Override
      public String sourceAddress() {
        return "10.1.1.1";
      }

      @Override
      public boolean hasMeshCertificate() {
        return hasCertificate;
      }
    };
    return new OutboundPipeline(source, ticker, random, duration -> {
      sleeps.add(duration);
      ticker.advance(duration);
    });
  }

  ClusterRuntime runtime(String cluster) {
    return snapshot.cluster(cluster).orElseThrow();
  }

  static RouteAction.Forward forward(String cluster) {
    return forward(List.of(new RouteAction.WeightedCluster(cluster, 100, HeaderMutations.NONE)), Duration.ZERO,
        Optional.empty(), Optional.empty());
  }

  static RouteAction.Forward forward(List<RouteAction.WeightedCluster> clusters, Duration timeout,
      Optional<RouteAction.RetryPolicy> retry, Optional<FaultConfig> fault) {
    return new RouteAction.Forward(clusters, timeout, retry, fault, Optional.empty(), HeaderMutations.NONE,
        HeaderMutations.NONE, List.of(), List.of());
  }

  static RouteAction.Forward retrying(String cluster, Duration timeout, RouteAction.RetryPolicy retry) {
    return forward(List.of(new RouteAction.WeightedCluster(cluster, 100, HeaderMutations.NONE)), timeout,
        Optional.of(retry), Optional.empty());
  }

  static RouteAction.RetryPolicy retries(int attempts, List<String> retryOn, List<Integer> statusCodes,
      Optional<Duration> perTry) {
    return new RouteAction.RetryPolicy(attempts, retryOn, statusCodes, perTry, Duration.ofMillis(25), Duration.ofMillis(250));
  }

  static Request get(String path) {
    return new Request("GET", "reviews", 9080, path, Map.of());
  }

  static Request post(String path) {
    return new Request("POST", "reviews", 9080, path, Map.of());
  }

  /** An outbound request as a transport adapter would show it. */
  record Request(String method, String host, int port, String path, Map<String, String> headers) implements RequestView {
    @Override
    public String scheme() {
      return "http";
    }

    @Override
    public Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name));
    }

    @Override
    public Optional<String> queryParameter(String name) {
      return Optional.empty();
    }
  }
}
