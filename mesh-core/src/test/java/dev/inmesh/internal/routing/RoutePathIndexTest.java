package dev.inmesh.internal.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.spi.RequestView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RoutePathIndexTest {
  private static final RouteAction FORWARD = new RouteAction.Forward(
      List.of(new RouteAction.WeightedCluster("c", 1, RouteAction.HeaderMutations.NONE)), Duration.ZERO, Optional.empty(),
      Optional.empty(), Optional.empty(), RouteAction.HeaderMutations.NONE, RouteAction.HeaderMutations.NONE, List.of(), List.of());
  private static final String[] SEGMENTS = {"/", "/api", "/api/", "/api/v1", "/api/v1/", "/API/v1/", "/reviews", "/reviews/1",
      "/reviews/12", "/ratings/", "/x", ""};

  private static Route route(int i, StringMatcher path, List<RouteMatch.HeaderMatch> headers) {
    return new Route("r" + i, new RouteMatch(path, headers, List.of()), FORWARD);
  }

  private static Request request(String path, Map<String, String> headers) {
    return new Request(path, headers);
  }

  /** The answer of the definition: the first route, in order, whose match holds. */
  private static int scan(List<Route> routes, RequestView request) {
    for (int i = 0; i < routes.size(); i++) {
      if (routes.get(i).match().matches(request)) {
        return i;
      }
    }
    return -1;
  }

  @Test
  void findsTheFirstMatchInRouteOrderNotTheLongestPrefix() {
    List<Route> routes = List.of(
        route(0, new StringMatcher.Prefix("/api/v1/", false), List.of(new RouteMatch.HeaderMatch("end-user",
            Optional.of(new StringMatcher.Exact("jason", false)), false))),
        route(1, new StringMatcher.Prefix("/api/", false), List.of()),
        route(2, new StringMatcher.Prefix("/api/v1/", false), List.of()),
        route(3, StringMatcher.Regex.of("/ratings/[0-9]+"), List.of()),
        route(4, new StringMatcher.Exact("/health", false), List.of()),
        route(5, new StringMatcher.Prefix("/", false), List.of()));
    RoutePathIndex index = RoutePathIndex.of(routes);

    assertThat(index.first(request("/api/v1/x", Map.of("end-user", "jason")))).isZero();
    assertThat(index.first(request("/api/v1/x", Map.of()))).as("the earlier, shorter prefix wins, as in Envoy").isEqualTo(1);
    assertThat(index.first(request("/ratings/7", Map.of()))).isEqualTo(3);
    assertThat(index.first(request("/health", Map.of()))).isEqualTo(4);
    assertThat(index.first(request("/healthz", Map.of()))).isEqualTo(5);
    assertThat(index.first(request("/ratings/x", Map.of()))).isEqualTo(5);
  }

  @Test
  void withoutACatchAllARequestThatNoRouteTakesFindsNone() {
    RoutePathIndex index = RoutePathIndex.of(List.of(route(0, new StringMatcher.Prefix("/api/", false), List.of())));

    assertThat(index.first(request("/ap", Map.of()))).isEqualTo(-1);
    assertThat(index.first(request("/other/api/", Map.of()))).isEqualTo(-1);
  }

  @Test
  void agreesWithAScanInOrderOnRandomRouteTables() {
    SplittableRandom random = new SplittableRandom(20261126);
    for (int table = 0; table < 300; table++) {
      List<Route> routes = new ArrayList<>();
      int size = 1 + random.nextInt(150);
      for (int i = 0; i < size; i++) {
        String literal = SEGMENTS[random.nextInt(SEGMENTS.length)] + (random.nextInt(3) == 0 ? random.nextInt(20) : "");
        StringMatcher path = switch (random.nextInt(6)) {
          case 0, 1 -> new StringMatcher.Prefix(literal, false);
          case 2 -> new StringMatcher.Exact(literal, false);
          case 3 -> new StringMatcher.Prefix(literal, true);
          case 4 -> new StringMatcher.Exact(literal, true);
          default -> StringMatcher.Regex.of("/(api|reviews)/[0-9a-z/]*");
        };
        List<RouteMatch.HeaderMatch> headers = random.nextInt(4) == 0
            ? List.of(new RouteMatch.HeaderMatch("end-user", Optional.of(new StringMatcher.Exact("jason", false)), false))
            : List.of();
        routes.add(route(i, path, headers));
      }
      RoutePathIndex index = RoutePathIndex.of(routes);
      for (int probe = 0; probe < 100; probe++) {
        String path = SEGMENTS[random.nextInt(SEGMENTS.length)] + (random.nextBoolean() ? random.nextInt(20) : "")
            + (random.nextBoolean() ? SEGMENTS[random.nextInt(SEGMENTS.length)] : "");
        Request request = request(path.isEmpty() ? "/" : path, random.nextBoolean() ? Map.of("end-user", "jason") : Map.of());
        assertThat(index.first(request)).as("table %d, path %s", table, request.path()).isEqualTo(scan(routes, request));
      }
    }
  }

  private record Request(String path, Map<String, String> headers) implements RequestView {
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
      return Optional.ofNullable(headers.get(name));
    }

    @Override
    public Optional<String> queryParameter(String name) {
      return Optional.empty();
    }
  }
}
