package dev.inmesh.benchmarks;

import dev.inmesh.Locality;
import dev.inmesh.MeshConfig;
import dev.inmesh.internal.balancing.BalancerConfig;
import dev.inmesh.internal.balancing.EndpointState;
import dev.inmesh.internal.balancing.LoadBalancer;
import dev.inmesh.internal.balancing.LoadBalancers;
import dev.inmesh.internal.balancing.PickRequest;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.outbound.ClusterRuntime;
import dev.inmesh.internal.outbound.ClusterRuntimes;
import dev.inmesh.internal.resilience.Admission;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.internal.resilience.Outcome;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import dev.inmesh.internal.routing.Route;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteMatch;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.StringMatcher;
import dev.inmesh.internal.routing.VirtualHost;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.authz.AuthzRequest;
import dev.inmesh.internal.security.authz.Permission;
import dev.inmesh.internal.security.authz.Policy;
import dev.inmesh.internal.security.authz.Principal;
import dev.inmesh.internal.security.authz.RbacEngine;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.xds.XdsResources;
import dev.inmesh.spi.RequestView;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-process decision path (P1 in BENCHMARKS.md): route matching over 1,000 routes and
 * picking among 10 endpoints, as every mesh call does before it touches the network. Run with
 * {@code -prof gc} for the allocation per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DecisionPathBenchmark {
  private static final int ROUTES = 1_000;

  private static final String V1 = "outbound|9080|v1|reviews.default.svc.cluster.local";
  private static final String V2 = "outbound|9080|v2|reviews.default.svc.cluster.local";

  private RouteTable table;
  private Map<String, ClusterRuntime> clusters;
  private IstioMetrics metrics;
  private AuthorizationEngine authorization;
  private AuthzRequest inbound;
  private final SplittableRandom random = new SplittableRandom(7);
  private RequestView lastRoute;
  private RequestView firstRoute;
  private LoadBalancer roundRobin;
  private LoadBalancer ringHash;
  private PickRequest hashed;

  @Setup
  public void setUp() {
    List<Route> routes = new ArrayList<>();
    RouteAction.Forward forward = new RouteAction.Forward(
        List.of(new RouteAction.WeightedCluster(V1, 80, RouteAction.HeaderMutations.NONE),
            new RouteAction.WeightedCluster(V2, 20, RouteAction.HeaderMutations.NONE)),
        Duration.ZERO, Optional.empty(), Optional.empty(), Optional.empty(), RouteAction.HeaderMutations.NONE,
        RouteAction.HeaderMutations.NONE, List.of(), List.of());
    for (int i = 0; i < ROUTES; i++) {
      RouteMatch match = new RouteMatch(new StringMatcher.Prefix("/api/" + i + "/", false),
          List.of(new RouteMatch.HeaderMatch("end-user", Optional.of(new StringMatcher.Exact("user-" + i, false)), false)),
          List.of());
      routes.add(new Route("route-" + i, match, forward));
    }
    table = new RouteTable("reviews.default.svc.cluster.local:9080",
        List.of(new VirtualHost("reviews", List.of("reviews:9080", "reviews"), routes)));
    lastRoute = new Request("/api/" + (ROUTES - 1) + "/reviews/1", "user-" + (ROUTES - 1));
    firstRoute = new Request("/api/0/reviews/1", "user-0");
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      endpoints.add(new Endpoint("10.0.0." + (i + 1), 9080, Locality.UNKNOWN, 1));
    }
    roundRobin = LoadBalancers.create(BalancerConfig.ROUND_ROBIN, endpoints, EndpointState.ALL_HEALTHY, new Random(1));
    ringHash = LoadBalancers.create(new BalancerConfig(BalancerConfig.Policy.RING_HASH, 1024, 2), endpoints,
        EndpointState.ALL_HEALTHY, new Random(1));
    hashed = new PickRequest(OptionalLong.of(0x9e3779b97f4a7c15L), Set.of());

    // the clusters' live state, as the Mesh keeps it, and Istio's metrics into a Prometheus registry
    Map<String, ClusterConfig> configs = new HashMap<>();
    for (String name : List.of(V1, V2)) {
      configs.put(name, new ClusterConfig(name, name, BalancerConfig.ROUND_ROBIN, ConnectionLimits.defaults(),
          Optional.of(new OutlierDetectionConfig(5, 0, Duration.ofSeconds(10), Duration.ofSeconds(30), 10, 0)),
          Duration.ofSeconds(1), Optional.empty()));
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    clusters = new ClusterRuntimes(System::nanoTime, new Random(3), registry).update(new XdsResources(
        Map.of(), Map.of(), Map.of(), configs, Map.of(V1, endpoints, V2, endpoints), Map.of(), Map.of(), true));
    MeshConfig self = new MeshConfig(List.of("127.0.0.1:15010"), "default", Optional.of("productpage"), "productpage",
        Map.of("app", "productpage", "version", "v1"), Locality.UNKNOWN, "127.0.0.1",
        List.of(new dev.inmesh.internal.model.ServicePort("http", 9080, 9080, "HTTP")), Duration.ofSeconds(10));
    metrics = new IstioMetrics(registry, self, Optional.empty());

    // the inbound side: ten DENY principals, then an ALLOW on method and path prefix
    List<Policy> denied = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      denied.add(new Policy("deny-" + i, new Permission.Any(), new Principal.Authenticated(
          Optional.of(new StringMatcher.Exact("spiffe://cluster.local/ns/default/sa/blocked-" + i, false)))));
    }
    authorization = new AuthorizationEngine(List.of(
        new RbacEngine(RbacEngine.Action.DENY, denied),
        new RbacEngine(RbacEngine.Action.ALLOW, List.of(new Policy("reviews-readers", new Permission.And(List.of(
            new Permission.Header(dev.inmesh.internal.security.authz.HeaderMatch.of(":method", new StringMatcher.Exact("GET", false))),
            new Permission.UrlPath(new StringMatcher.Prefix("/api/", false)))),
            new Principal.Authenticated(Optional.of(new StringMatcher.Prefix("spiffe://cluster.local/ns/default/", false))))))),
        List.of());
    inbound = new AuthzRequest(Optional.of("spiffe://cluster.local/ns/default/sa/productpage"),
        InetAddress.getLoopbackAddress(), InetAddress.getLoopbackAddress(), 9080, "GET", "reviews:9080",
        "/api/999/reviews/1", name -> Optional.empty(), Optional.empty());
  }

  /**
   * P1, the whole in-process decision of one call, as {@code OutboundPipeline} makes it: the route
   * (the last of 1,000), the weighted cluster, the connection-limit permit, the endpoint among 10,
   * the outcome recorded for outlier detection and load reports, and Istio's request metrics.
   */
  @Benchmark
  public Object decisionPath() {
    RouteTable.Matched matched = table.route("reviews:9080", lastRoute).orElseThrow();
    RouteAction.Forward forward = (RouteAction.Forward) matched.route().action();
    int roll = random.nextInt(forward.totalWeight());
    RouteAction.WeightedCluster target = forward.clusters().get(0);
    for (RouteAction.WeightedCluster cluster : forward.clusters()) {
      roll -= cluster.weight();
      if (roll < 0) {
        target = cluster;
        break;
      }
    }
    ClusterRuntime cluster = clusters.get(target.name());
    Admission.Permit permit = (Admission.Permit) cluster.limiter().tryAcquire();
    Endpoint endpoint = cluster.balancer().pick(PickRequest.ANY).orElseThrow();
    permit.close();
    cluster.outliers().record(endpoint, Outcome.SUCCESS);
    cluster.loadStats().record(endpoint, Outcome.SUCCESS, 250_000);
    metrics.sent("reviews.default.svc.cluster.local", Optional.empty(),
        new IstioMetrics.Outcome("http", 200, Optional.empty(), "-", 0.25, 0, 1024));
    return endpoint;
  }

  /** The inbound policy check: 10 DENY rules, then an ALLOW on principal, method and path. */
  @Benchmark
  public Object authorize() {
    return authorization.evaluate(inbound);
  }

  /** Istio's four request metrics for one call, into a Prometheus registry. */
  @Benchmark
  public void recordIstioMetrics() {
    metrics.sent("reviews.default.svc.cluster.local", Optional.empty(),
        new IstioMetrics.Outcome("http", 200, Optional.empty(), "-", 0.25, 0, 1024));
  }

  @Benchmark
  public Object matchTheLastOfAThousandRoutes() {
    return table.route("reviews:9080", lastRoute);
  }

  @Benchmark
  public Object matchTheFirstRoute() {
    return table.route("reviews:9080", firstRoute);
  }

  @Benchmark
  public Object pickRoundRobinAmongTen() {
    return roundRobin.pick(PickRequest.ANY);
  }

  @Benchmark
  public Object pickRingHashAmongTen() {
    return ringHash.pick(hashed);
  }

  private record Request(String path, String user) implements RequestView {
    @Override
    public String method() {
      return "GET";
    }

    @Override
    public String host() {
      return "reviews";
    }

    @Override
    public int port() {
      return 9080;
    }

    @Override
    public String scheme() {
      return "http";
    }

    @Override
    public Optional<String> header(String name) {
      return name.equals("end-user") ? Optional.of(user) : Optional.empty();
    }

    @Override
    public Optional<String> queryParameter(String name) {
      return Optional.empty();
    }
  }
}
