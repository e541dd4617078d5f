package dev.inmesh.benchmarks;

import dev.inmesh.balancing.BalancerConfig;
import dev.inmesh.balancing.EndpointState;
import dev.inmesh.balancing.LoadBalancer;
import dev.inmesh.balancing.LoadBalancers;
import dev.inmesh.balancing.PickRequest;
import dev.inmesh.model.Endpoint;
import dev.inmesh.model.Locality;
import dev.inmesh.routing.RequestView;
import dev.inmesh.routing.Route;
import dev.inmesh.routing.RouteAction;
import dev.inmesh.routing.RouteMatch;
import dev.inmesh.routing.RouteTable;
import dev.inmesh.routing.StringMatcher;
import dev.inmesh.routing.VirtualHost;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
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
 * The in-process decision path (issue 9, P1): route matching over 1,000 routes and picking among 10
 * endpoints, as every mesh call does before it touches the network. Run with {@code -prof gc} for
 * the allocation per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DecisionPathBenchmark {
  private static final int ROUTES = 1_000;

  private RouteTable table;
  private RequestView lastRoute;
  private RequestView firstRoute;
  private LoadBalancer roundRobin;
  private LoadBalancer ringHash;
  private PickRequest hashed;

  @Setup
  public void setUp() {
    List<Route> routes = new ArrayList<>();
    RouteAction.Forward forward = new RouteAction.Forward(
        List.of(new RouteAction.WeightedCluster("outbound|9080|v1|reviews.default.svc.cluster.local", 80, RouteAction.HeaderMutations.NONE),
            new RouteAction.WeightedCluster("outbound|9080|v2|reviews.default.svc.cluster.local", 20, RouteAction.HeaderMutations.NONE)),
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
    roundRobin = LoadBalancers.create(BalancerConfig.ROUND_ROBIN, endpoints, Locality.UNKNOWN, EndpointState.ALL_HEALTHY, new Random(1));
    ringHash = LoadBalancers.create(new BalancerConfig(BalancerConfig.Policy.RING_HASH, 1024, 2), endpoints,
        Locality.UNKNOWN, EndpointState.ALL_HEALTHY, new Random(1));
    hashed = new PickRequest(OptionalLong.of(0x9e3779b97f4a7c15L), Set.of());
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
