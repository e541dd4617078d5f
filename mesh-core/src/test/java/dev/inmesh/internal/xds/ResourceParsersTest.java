package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.util.Durations;
import dev.inmesh.Locality;
import dev.inmesh.internal.balancing.BalancerConfig;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.ListenerConfig;
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
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.PathConfigSource;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.FractionalPercent.DenominatorType;
import io.envoyproxy.envoy.type.v3.Percent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Envoy v3 resources a control plane sends, built by hand, and the data-plane models the
 * parsers make of them; and every resource Inmesh cannot honour refused with resource and field.
 */
class ResourceParsersTest {
  private static final String ROUTES = "RouteConfiguration reviews-routes";
  private static final String FIRST_ROUTE = "virtual_hosts[0].routes[0]";

  // ---------------------------------------------------------------- builders

  private static ConfigSource ads() {
    return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();
  }

  private static HttpFilter filter(String name) {
    return HttpFilter.newBuilder().setName(name).build();
  }

  private static HttpFilter faultFilter() {
    return HttpFilter.newBuilder().setName("envoy.filters.http.fault")
        .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())).build();
  }

  private static HttpFilter routerFilter() {
    return HttpFilter.newBuilder().setName("envoy.filters.http.router")
        .setTypedConfig(Any.pack(Router.getDefaultInstance())).build();
  }

  private static HttpConnectionManager.Builder rdsManager(String routeConfigName) {
    return HttpConnectionManager.newBuilder()
        .setRds(Rds.newBuilder().setRouteConfigName(routeConfigName).setConfigSource(ads()))
        .addHttpFilters(faultFilter())
        .addHttpFilters(routerFilter());
  }

  private static Listener listener(String name, HttpConnectionManager.Builder manager) {
    return Listener.newBuilder().setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(manager.build()))).build();
  }

  private static io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder prefix(String prefix) {
    return io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix(prefix);
  }

  private static io.envoyproxy.envoy.config.route.v3.RouteAction.Builder toCluster(String cluster) {
    return io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder().setCluster(cluster);
  }

  private static io.envoyproxy.envoy.config.route.v3.Route.Builder forward(
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action) {
    return io.envoyproxy.envoy.config.route.v3.Route.newBuilder().setName("default").setMatch(prefix("/")).setRoute(action);
  }

  private static RouteConfiguration routes(io.envoyproxy.envoy.config.route.v3.Route.Builder... routes) {
    io.envoyproxy.envoy.config.route.v3.VirtualHost.Builder host = io.envoyproxy.envoy.config.route.v3.VirtualHost.newBuilder()
        .setName("reviews").addDomains("reviews.shop.svc.cluster.local").addDomains("reviews");
    for (io.envoyproxy.envoy.config.route.v3.Route.Builder route : routes) {
      host.addRoutes(route);
    }
    return RouteConfiguration.newBuilder().setName("reviews-routes").addVirtualHosts(host).build();
  }

  private static Route onlyRoute(RouteConfiguration config) throws XdsParseException {
    RouteTable table = RouteParser.parse(config);
    assertThat(table.virtualHosts()).hasSize(1);
    assertThat(table.virtualHosts().get(0).routes()).hasSize(1);
    return table.virtualHosts().get(0).routes().get(0);
  }

  private static RouteAction.Forward forwardOf(io.envoyproxy.envoy.config.route.v3.Route.Builder route) throws XdsParseException {
    RouteAction action = onlyRoute(routes(route)).action();
    assertThat(action).isInstanceOf(RouteAction.Forward.class);
    return (RouteAction.Forward) action;
  }

  private static RouteAction.Forward forwardOf(io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action)
      throws XdsParseException {
    return forwardOf(forward(action));
  }

  private static io.envoyproxy.envoy.config.route.v3.Route.Builder withFault(HTTPFault fault) {
    return forward(toCluster("reviews")).putTypedPerFilterConfig("envoy.filters.http.fault", Any.pack(fault));
  }

  private static FractionalPercent fraction(int numerator, DenominatorType denominator) {
    return FractionalPercent.newBuilder().setNumerator(numerator).setDenominator(denominator).build();
  }

  private static HeaderValueOption header(String key, String value, HeaderValueOption.HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(key).setValue(value)).setAppendAction(action).build();
  }

  private static RegexMatcher regex(String regex) {
    return RegexMatcher.newBuilder().setRegex(regex).build();
  }

  private static Map.Entry<String, String> entry(String key, String value) {
    return Map.entry(key, value);
  }

  private static Cluster.Builder edsCluster(String name) {
    return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()));
  }

  private static LbEndpoint.Builder lbEndpoint(String address, int port) {
    return LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(address).setPortValue(port))));
  }

  /** Runs {@code parse}, expects a refusal, and checks that it names the resource and the field. */
  private static XdsParseException refusal(ThrowingCallable parse, String resource, String field) {
    XdsParseException refused = catchThrowableOfType(XdsParseException.class, parse);
    assertThat(refused).as("a refusal naming %s and %s", resource, field).isNotNull();
    assertThat(refused.resource()).isEqualTo(resource);
    assertThat(refused.field()).isEqualTo(field);
    assertThat(refused.getMessage()).contains(resource).contains(field);
    return refused;
  }

  // ---------------------------------------------------------------- listeners

  @Nested
  class Listeners {
    @Test
    void anApiListenerWithRdsOverAdsNamesItsRouteConfiguration() throws Exception {
      ListenerConfig parsed = ListenerParser.parse(listener("reviews.shop.svc.cluster.local:9080", rdsManager("reviews-routes")));

      assertThat(parsed).isEqualTo(new ListenerConfig("reviews.shop.svc.cluster.local:9080", "reviews-routes", Optional.empty()));
    }

    @Test
    void anInlineRouteConfigurationComesWithItsRouteTable() throws Exception {
      HttpConnectionManager.Builder manager = HttpConnectionManager.newBuilder()
          .setRouteConfig(routes(forward(toCluster("reviews"))))
          .addHttpFilters(routerFilter());

      ListenerConfig parsed = ListenerParser.parse(listener("reviews:9080", manager));

      assertThat(parsed.routeConfigName()).isEqualTo("reviews-routes");
      assertThat(parsed.inlineRoutes()).isPresent();
      assertThat(parsed.inlineRoutes().get().virtualHosts()).extracting(VirtualHost::name).containsExactly("reviews");
    }

    @Test
    void aListenerWithoutAnApiListenerIsRefused() {
      Listener socketListener = Listener.newBuilder().setName("inbound-9080").build();

      refusal(() -> ListenerParser.parse(socketListener), "Listener inbound-9080", "api_listener");
    }

    @Test
    void anUnsupportedHttpFilterIsRefused() {
      HttpConnectionManager.Builder manager = rdsManager("reviews-routes").addHttpFilters(0, filter("envoy.filters.http.cors"));

      XdsParseException refused = refusal(() -> ListenerParser.parse(listener("reviews:9080", manager)),
          "Listener reviews:9080", "api_listener.http_filters[0]");
      assertThat(refused.getMessage()).contains("envoy.filters.http.cors");
    }

    @Test
    void anOptionalUnsupportedHttpFilterIsSkipped() throws Exception {
      HttpConnectionManager.Builder manager = rdsManager("reviews-routes")
          .addHttpFilters(0, filter("envoy.filters.http.cors").toBuilder().setIsOptional(true));

      assertThat(ListenerParser.parse(listener("reviews:9080", manager)).routeConfigName()).isEqualTo("reviews-routes");
    }

    @Test
    void aRouterThatIsNotTheLastFilterIsRefused() {
      HttpConnectionManager.Builder manager = HttpConnectionManager.newBuilder()
          .setRds(Rds.newBuilder().setRouteConfigName("reviews-routes").setConfigSource(ads()))
          .addHttpFilters(routerFilter())
          .addHttpFilters(faultFilter());

      refusal(() -> ListenerParser.parse(listener("reviews:9080", manager)), "Listener reviews:9080", "api_listener.http_filters");
    }

    @Test
    void routesThatDoNotComeOverAdsAreRefused() {
      HttpConnectionManager.Builder manager = rdsManager("reviews-routes").setRds(Rds.newBuilder()
          .setRouteConfigName("reviews-routes")
          .setConfigSource(ConfigSource.newBuilder().setApiConfigSource(ApiConfigSource.newBuilder()
              .setApiType(ApiConfigSource.ApiType.GRPC))));

      refusal(() -> ListenerParser.parse(listener("reviews:9080", manager)), "Listener reviews:9080", "api_listener.rds.config_source");
    }
  }

  // ---------------------------------------------------------------- routes: matching

  @Nested
  class Matches {
    @Test
    void readsVirtualHostsAndPrefixPathAndRegexPathMatchers() throws Exception {
      RouteConfiguration config = RouteConfiguration.newBuilder().setName("reviews-routes")
          .addVirtualHosts(io.envoyproxy.envoy.config.route.v3.VirtualHost.newBuilder().setName("reviews")
              .addDomains("reviews").addDomains("reviews.shop.svc.cluster.local")
              .addRoutes(forward(toCluster("v1")).setName("exact")
                  .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPath("/health")))
              .addRoutes(forward(toCluster("v1")).setName("regex")
                  .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setSafeRegex(regex("/books/[0-9]+"))))
              .addRoutes(forward(toCluster("v1")).setName("prefix-any-case")
                  .setMatch(prefix("/API").setCaseSensitive(BoolValue.of(false)))))
          .addVirtualHosts(io.envoyproxy.envoy.config.route.v3.VirtualHost.newBuilder().setName("fallback")
              .addDomains("*").addRoutes(forward(toCluster("v2")).setName("prefix")))
          .build();

      RouteTable table = RouteParser.parse(config);

      assertThat(table.name()).isEqualTo("reviews-routes");
      assertThat(table.virtualHosts()).extracting(VirtualHost::name, VirtualHost::domains).containsExactly(
          tuple("reviews", List.of("reviews", "reviews.shop.svc.cluster.local")),
          tuple("fallback", List.of("*")));
      assertThat(table.virtualHosts().get(0).routes()).extracting(Route::name, route -> route.match().path()).containsExactly(
          tuple("exact", new StringMatcher.Exact("/health", false)),
          tuple("regex", StringMatcher.Regex.of("/books/[0-9]+")),
          tuple("prefix-any-case", new StringMatcher.Prefix("/API", true)));
      assertThat(table.virtualHosts().get(1).routes().get(0).match().path()).isEqualTo(new StringMatcher.Prefix("/", false));
    }

    @Test
    void readsHeaderMatchersWithLowerCaseNames() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder match = prefix("/")
          .addHeaders(HeaderMatcher.newBuilder().setName("X-User")
              .setStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact("Jason").setIgnoreCase(true)))
          .addHeaders(HeaderMatcher.newBuilder().setName("x-version")
              .setStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setPrefix("v2")))
          .addHeaders(HeaderMatcher.newBuilder().setName("x-build")
              .setStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setSafeRegex(regex("[a-f0-9]{7}"))))
          .addHeaders(HeaderMatcher.newBuilder().setName("x-canary").setPresentMatch(true))
          .addHeaders(HeaderMatcher.newBuilder().setName("x-debug").setPresentMatch(false))
          .addHeaders(HeaderMatcher.newBuilder().setName("x-env")
              .setStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact("prod")).setInvertMatch(true));

      RouteMatch parsed = onlyRoute(routes(forward(toCluster("reviews")).setMatch(match))).match();

      assertThat(parsed.headers()).containsExactly(
          new RouteMatch.HeaderMatch("x-user", Optional.of(new StringMatcher.Exact("Jason", true)), false),
          new RouteMatch.HeaderMatch("x-version", Optional.of(new StringMatcher.Prefix("v2", false)), false),
          new RouteMatch.HeaderMatch("x-build", Optional.of(StringMatcher.Regex.of("[a-f0-9]{7}")), false),
          new RouteMatch.HeaderMatch("x-canary", Optional.empty(), false),
          new RouteMatch.HeaderMatch("x-debug", Optional.empty(), true),
          new RouteMatch.HeaderMatch("x-env", Optional.of(new StringMatcher.Exact("prod", false)), true));
    }

    @Test
    void readsQueryParameterMatchers() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder match = prefix("/")
          .addQueryParameters(QueryParameterMatcher.newBuilder().setName("lang")
              .setStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact("en")))
          .addQueryParameters(QueryParameterMatcher.newBuilder().setName("debug").setPresentMatch(true));

      RouteMatch parsed = onlyRoute(routes(forward(toCluster("reviews")).setMatch(match))).match();

      assertThat(parsed.queryParameters()).containsExactly(
          new RouteMatch.QueryMatch("lang", Optional.of(new StringMatcher.Exact("en", false))),
          new RouteMatch.QueryMatch("debug", Optional.empty()));
    }

    @Test
    void aRouteMatchWithARuntimeFractionIsRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder match = prefix("/").setRuntimeFraction(
          RuntimeFractionalPercent.newBuilder().setDefaultValue(fraction(50, DenominatorType.HUNDRED)));

      refusal(() -> RouteParser.parse(routes(forward(toCluster("reviews")).setMatch(match))), ROUTES, FIRST_ROUTE + ".match");
    }

    @Test
    void aBadPathRegexIsRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder match =
          io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setSafeRegex(regex("/books/(unclosed"));

      XdsParseException refused = refusal(() -> RouteParser.parse(routes(forward(toCluster("reviews")).setMatch(match))),
          ROUTES, FIRST_ROUTE + ".match.safe_regex.regex");
      assertThat(refused.getMessage()).contains("/books/(unclosed");
    }

    @Test
    void aBadHeaderRegexIsRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder match = prefix("/").addHeaders(HeaderMatcher.newBuilder()
          .setName("x-build")
          .setStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setSafeRegex(regex("[a-f"))));

      refusal(() -> RouteParser.parse(routes(forward(toCluster("reviews")).setMatch(match))),
          ROUTES, FIRST_ROUTE + ".match.headers[0].string_match.safe_regex.regex");
    }
  }

  // ---------------------------------------------------------------- routes: forwarding

  @Nested
  class Forwarding {
    @Test
    void aRouteToOneClusterGivesItAllTheWeightAndEnvoysDefaults() throws Exception {
      RouteAction.Forward parsed = forwardOf(toCluster("reviews-v1"));

      assertThat(parsed.clusters()).containsExactly(new RouteAction.WeightedCluster("reviews-v1", 1, HeaderMutations.NONE));
      assertThat(parsed.timeout()).isEqualTo(Duration.ofSeconds(15));
      assertThat(parsed.retry()).isEmpty();
      assertThat(parsed.fault()).isEmpty();
      assertThat(parsed.rewrite()).isEmpty();
      assertThat(parsed.mirrors()).isEmpty();
      assertThat(parsed.hashPolicies()).isEmpty();
      assertThat(parsed.headers()).isEqualTo(HeaderMutations.NONE);
    }

    @Test
    void readsWeightedClustersWithTheirOwnHeaderChanges() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder()
          .setWeightedClusters(WeightedCluster.newBuilder()
              .addClusters(WeightedCluster.ClusterWeight.newBuilder().setName("reviews-v1").setWeight(UInt32Value.of(90)))
              .addClusters(WeightedCluster.ClusterWeight.newBuilder().setName("reviews-v2").setWeight(UInt32Value.of(10))
                  .addRequestHeadersToAdd(header("X-Canary", "true", HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
                  .addRequestHeadersToAdd(header("x-trail", "v2", HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
                  .addRequestHeadersToRemove("x-internal")
                  .addResponseHeadersToAdd(header("x-served-by", "v2", HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))));
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = forward(action)
          .addRequestHeadersToAdd(header("x-route", "reviews", HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
          .addResponseHeadersToRemove("server");

      RouteAction.Forward parsed = forwardOf(route);

      assertThat(parsed.clusters()).containsExactly(
          new RouteAction.WeightedCluster("reviews-v1", 90, HeaderMutations.NONE),
          new RouteAction.WeightedCluster("reviews-v2", 10, new HeaderMutations(
              List.of(entry("x-canary", "true")), List.of(entry("x-trail", "v2")), List.of("x-internal")),
              new HeaderMutations(List.of(entry("x-served-by", "v2")), List.of(), List.of())));
      assertThat(parsed.totalWeight()).isEqualTo(100);
      assertThat(parsed.headers()).isEqualTo(new HeaderMutations(List.of(entry("x-route", "reviews")), List.of(), List.of()));
      assertThat(parsed.responseHeaders()).isEqualTo(new HeaderMutations(List.of(), List.of(), List.of("server")));
      // the destination's response changes first, then the route's (Envoy's order)
      assertThat(parsed.clusters().get(1).responseHeaders().then(parsed.responseHeaders()))
          .isEqualTo(new HeaderMutations(List.of(entry("x-served-by", "v2")), List.of(), List.of("server")));
    }

    @Test
    @SuppressWarnings("deprecation") // control planes still send the legacy append flag
    void anExplicitAppendFalseOverwritesEvenWithTheDefaultAppendAction() throws Exception {
      HeaderValueOption legacy = HeaderValueOption.newBuilder()
          .setHeader(HeaderValue.newBuilder().setKey("x-route").setValue("reviews")).setAppend(BoolValue.of(false)).build();

      RouteAction.Forward parsed = forwardOf(forward(toCluster("reviews")).addRequestHeadersToAdd(legacy));

      assertThat(parsed.headers()).isEqualTo(new HeaderMutations(List.of(entry("x-route", "reviews")), List.of(), List.of()));
    }

    @Test
    void weightedClustersThatAddUpToZeroAreRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder()
          .setWeightedClusters(WeightedCluster.newBuilder()
              .addClusters(WeightedCluster.ClusterWeight.newBuilder().setName("reviews-v1").setWeight(UInt32Value.of(0)))
              .addClusters(WeightedCluster.ClusterWeight.newBuilder().setName("reviews-v2")));

      refusal(() -> RouteParser.parse(routes(forward(action))), ROUTES, FIRST_ROUTE + ".route.weighted_clusters");
    }

    @Test
    void aRouteThatPicksItsClusterFromAHeaderIsRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action =
          io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder().setClusterHeader("x-cluster");

      XdsParseException refused = refusal(() -> RouteParser.parse(routes(forward(action))), ROUTES, FIRST_ROUTE + ".route");
      assertThat(refused.getMessage()).contains("CLUSTER_HEADER");
    }

    @ParameterizedTest(name = "timeout {0} ms and max_stream_duration {1} ms give {2} ms")
    @CsvSource({
        "10000, 3000, 3000",
        "2000, 5000, 2000",
        "0, 4000, 4000",
        "5000, 0, 5000",
        "0, 0, 0",
        "-1, 20000, 15000",
        "-1, 0, 15000",
        "-1, 9000, 9000",
    })
    void theSmallerOfTimeoutAndMaxStreamDurationWinsAndZeroMeansNone(long timeoutMillis, long maxMillis, long expectedMillis)
        throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews")
          .setMaxStreamDuration(io.envoyproxy.envoy.config.route.v3.RouteAction.MaxStreamDuration.newBuilder()
              .setMaxStreamDuration(Durations.fromMillis(maxMillis)));
      if (timeoutMillis >= 0) {
        action.setTimeout(Durations.fromMillis(timeoutMillis));
      }

      assertThat(forwardOf(action).timeout()).isEqualTo(Duration.ofMillis(expectedMillis));
    }

    @Test
    void readsARetryPolicy() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews").setRetryPolicy(RetryPolicy.newBuilder()
          .setRetryOn("5xx, reset,,connect-failure ")
          .setNumRetries(UInt32Value.of(3))
          .setPerTryTimeout(Durations.fromMillis(250))
          .addRetriableStatusCodes(503)
          .setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder()
              .setBaseInterval(Durations.fromMillis(100)).setMaxInterval(Durations.fromSeconds(1))));

      assertThat(forwardOf(action).retry()).contains(new RouteAction.RetryPolicy(3, List.of("5xx", "reset", "connect-failure"),
          List.of(503), Optional.of(Duration.ofMillis(250)), Duration.ofMillis(100), Duration.ofSeconds(1)));
    }

    @Test
    void aRetryPolicyWithoutBackOffRetriesOnceAfter25MillisecondsCappedAtTenTimesThat() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action =
          toCluster("reviews").setRetryPolicy(RetryPolicy.newBuilder().setRetryOn("gateway-error"));

      assertThat(forwardOf(action).retry()).contains(new RouteAction.RetryPolicy(1, List.of("gateway-error"), List.of(),
          Optional.empty(), Duration.ofMillis(25), Duration.ofMillis(250)));
    }

    @Test
    void aBackOffWithOnlyABaseIntervalCapsAtTenTimesIt() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews").setRetryPolicy(RetryPolicy.newBuilder()
          .setRetryOn("5xx").setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder().setBaseInterval(Durations.fromMillis(40))));

      RouteAction.RetryPolicy retry = forwardOf(action).retry().orElseThrow();

      assertThat(retry.baseInterval()).isEqualTo(Duration.ofMillis(40));
      assertThat(retry.maxInterval()).isEqualTo(Duration.ofMillis(400));
    }

    @Test
    void aZeroPerTryTimeoutMeansNone() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews").setRetryPolicy(RetryPolicy.newBuilder()
          .setRetryOn("5xx").setPerTryTimeout(Durations.fromMillis(0)));

      assertThat(forwardOf(action).retry().orElseThrow().perTryTimeout()).isEmpty();
    }

    @Test
    void aBackOffWhoseBaseExceedsItsMaxIsRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews").setRetryPolicy(RetryPolicy.newBuilder()
          .setRetryOn("5xx").setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder()
              .setBaseInterval(Durations.fromSeconds(2)).setMaxInterval(Durations.fromSeconds(1))));

      refusal(() -> RouteParser.parse(routes(forward(action))), ROUTES, FIRST_ROUTE + ".route.retry_policy.retry_back_off");
    }

    @Test
    void readsPrefixRegexAndHostRewrites() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews")
          .setPrefixRewrite("/v2/")
          .setRegexRewrite(RegexMatchAndSubstitute.newBuilder().setPattern(regex("^/books/([0-9]+)$")).setSubstitution("/b/\\1"))
          .setHostRewriteLiteral("reviews.internal");

      assertThat(forwardOf(action).rewrite()).contains(new RouteAction.Rewrite(Optional.of("/v2/"),
          Optional.of(StringMatcher.Regex.of("^/books/([0-9]+)$")), "/b/\\1", Optional.of("reviews.internal")));
    }

    @Test
    void aHostRewriteAloneLeavesThePathAlone() throws Exception {
      RouteAction.Forward parsed = forwardOf(toCluster("reviews").setHostRewriteLiteral("reviews.internal"));

      assertThat(parsed.rewrite()).contains(new RouteAction.Rewrite(Optional.empty(), Optional.empty(), "",
          Optional.of("reviews.internal")));
    }

    @Test
    void aBadRewriteRegexIsRefused() {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews")
          .setRegexRewrite(RegexMatchAndSubstitute.newBuilder().setPattern(regex("(?P<")).setSubstitution("/"));

      refusal(() -> RouteParser.parse(routes(forward(action))), ROUTES, FIRST_ROUTE + ".route.regex_rewrite.pattern.regex");
    }

    @Test
    void readsMirrorPoliciesWithTheirFractions() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews")
          .addRequestMirrorPolicies(io.envoyproxy.envoy.config.route.v3.RouteAction.RequestMirrorPolicy.newBuilder()
              .setCluster("reviews-shadow")
              .setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setDefaultValue(fraction(10, DenominatorType.HUNDRED))))
          .addRequestMirrorPolicies(io.envoyproxy.envoy.config.route.v3.RouteAction.RequestMirrorPolicy.newBuilder()
              .setCluster("reviews-audit"));

      assertThat(forwardOf(action).mirrors()).containsExactly(
          new RouteAction.Mirror("reviews-shadow", 100_000),
          new RouteAction.Mirror("reviews-audit", 1_000_000));
    }

    @Test
    void readsHashPolicies() throws Exception {
      io.envoyproxy.envoy.config.route.v3.RouteAction.Builder action = toCluster("reviews")
          .addHashPolicy(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.newBuilder()
              .setHeader(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.Header.newBuilder().setHeaderName("X-User")))
          .addHashPolicy(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.newBuilder()
              .setCookie(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.Cookie.newBuilder().setName("session")))
          .addHashPolicy(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.newBuilder()
              .setConnectionProperties(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.ConnectionProperties.newBuilder()
                  .setSourceIp(true)))
          .addHashPolicy(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.newBuilder()
              .setQueryParameter(io.envoyproxy.envoy.config.route.v3.RouteAction.HashPolicy.QueryParameter.newBuilder()
                  .setName("tenant")));

      assertThat(forwardOf(action).hashPolicies()).containsExactly(
          new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.HEADER, "x-user"),
          new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.COOKIE, "session"),
          new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.SOURCE_IP, ""),
          new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.QUERY_PARAMETER, "tenant"));
    }
  }

  // ---------------------------------------------------------------- routes: redirects and direct responses

  @Nested
  class RedirectsAndDirectResponses {
    @ParameterizedTest(name = "{0} answers {1}")
    @CsvSource({
        "MOVED_PERMANENTLY, 301",
        "FOUND, 302",
        "SEE_OTHER, 303",
        "TEMPORARY_REDIRECT, 307",
        "PERMANENT_REDIRECT, 308",
    })
    void aRedirectAnswersWithItsCodeAndLocation(RedirectAction.RedirectResponseCode code, int status) throws Exception {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
          .setName("moved").setMatch(prefix("/old"))
          .setRedirect(RedirectAction.newBuilder().setSchemeRedirect("https").setHostRedirect("reviews.example")
              .setPortRedirect(8443).setPathRedirect("/new").setResponseCode(code));

      assertThat(onlyRoute(routes(route)).action())
          .isEqualTo(new RouteAction.Redirect(Optional.of("https"), Optional.of("reviews.example"), Optional.of(8443),
              Optional.of("/new"), status, HeaderMutations.NONE));
    }

    @Test
    void anHttpsRedirectBuildsAnAbsoluteLocationFromTheRequest() throws Exception {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
          .setName("secure").setMatch(prefix("/"))
          .setRedirect(RedirectAction.newBuilder().setHttpsRedirect(true).setHostRedirect("reviews.example").setPathRedirect("/new"));

      RouteAction.Redirect redirect = (RouteAction.Redirect) onlyRoute(routes(route)).action();

      assertThat(redirect.location("http", "reviews", 9080, "/old", Optional.of("a=1"))).isEqualTo("https://reviews.example/new?a=1");
    }

    @Test
    void aRedirectThatOnlyChangesTheSchemeKeepsTheRequestsHostPortAndPath() throws Exception {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
          .setName("secure").setMatch(prefix("/"))
          .setRedirect(RedirectAction.newBuilder().setSchemeRedirect("https"));

      RouteAction.Redirect redirect = (RouteAction.Redirect) onlyRoute(routes(route)).action();

      assertThat(redirect.location("http", "reviews", 9080, "/old", Optional.empty())).isEqualTo("https://reviews:9080/old");
      assertThat(redirect.location("http", "reviews", 9080, "/old", Optional.of("q=x%20y&b")))
          .isEqualTo("https://reviews:9080/old?q=x%20y&b");
    }

    @Test
    void aPathRedirectWithItsOwnQueryReplacesTheRequestsQuery() throws Exception {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
          .setName("moved").setMatch(prefix("/"))
          .setRedirect(RedirectAction.newBuilder().setPathRedirect("/new?from=old"));

      RouteAction.Redirect redirect = (RouteAction.Redirect) onlyRoute(routes(route)).action();

      assertThat(redirect.location("http", "reviews", 9080, "/old", Optional.of("a=1")))
          .isEqualTo("http://reviews:9080/new?from=old");
    }

    @Test
    void aRedirectWithAPrefixRewriteIsRefused() {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
          .setName("moved").setMatch(prefix("/"))
          .setRedirect(RedirectAction.newBuilder().setPrefixRewrite("/v2/"));

      XdsParseException refused = catchThrowableOfType(XdsParseException.class, () -> onlyRoute(routes(route)));
      assertThat(refused.field()).endsWith("redirect.prefix_rewrite");
    }

    @Test
    void aDirectResponseAnswersWithItsStatusAndBody() throws Exception {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
          .setName("teapot").setMatch(prefix("/coffee"))
          .setDirectResponse(DirectResponseAction.newBuilder().setStatus(418)
              .setBody(DataSource.newBuilder().setInlineString("I'm a teapot")));

      assertThat(onlyRoute(routes(route)))
          .isEqualTo(new Route("teapot", new RouteMatch(new StringMatcher.Prefix("/coffee", false), List.of(), List.of()),
              new RouteAction.DirectResponse(418, "I'm a teapot", HeaderMutations.NONE)));
    }
  }

  // ---------------------------------------------------------------- routes: faults

  @Nested
  class Faults {
    @ParameterizedTest(name = "{0}/{1} is {2}%")
    @CsvSource({
        "50, HUNDRED, 50.0",
        "25, TEN_THOUSAND, 0.25",
        "5, MILLION, 0.0005",
        "250, HUNDRED, 100.0",
    })
    void anHttpAbortKeepsItsPercentageInEveryDenominator(int numerator, DenominatorType denominator, double percent)
        throws Exception {
      HTTPFault fault = HTTPFault.newBuilder()
          .setAbort(FaultAbort.newBuilder().setHttpStatus(503).setPercentage(fraction(numerator, denominator))).build();

      assertThat(forwardOf(withFault(fault)).fault()).contains(new FaultConfig(Optional.empty(),
          Optional.of(new FaultConfig.Abort(new FaultConfig.AbortStatus.Http(503), percent))));
    }

    @Test
    void aGrpcAbortAndAFixedDelayAreReadTogether() throws Exception {
      HTTPFault fault = HTTPFault.newBuilder()
          .setDelay(FaultDelay.newBuilder().setFixedDelay(Durations.fromMillis(1500))
              .setPercentage(fraction(100_000, DenominatorType.MILLION)))
          .setAbort(FaultAbort.newBuilder().setGrpcStatus(14).setPercentage(fraction(1_000, DenominatorType.TEN_THOUSAND)))
          .build();

      assertThat(forwardOf(withFault(fault)).fault()).contains(new FaultConfig(
          Optional.of(new FaultConfig.Delay(Duration.ofMillis(1500), 10.0)),
          Optional.of(new FaultConfig.Abort(new FaultConfig.AbortStatus.Grpc(14), 10.0))));
    }

    @Test
    void aFaultWithoutAPercentageAppliesToEveryRequest() throws Exception {
      HTTPFault fault = HTTPFault.newBuilder().setDelay(FaultDelay.newBuilder().setFixedDelay(Durations.fromMillis(200))).build();

      assertThat(forwardOf(withFault(fault)).fault()).contains(new FaultConfig(
          Optional.of(new FaultConfig.Delay(Duration.ofMillis(200), 100.0)), Optional.empty()));
    }

    @Test
    void aHeaderControlledDelayIsRefused() {
      HTTPFault fault = HTTPFault.newBuilder()
          .setDelay(FaultDelay.newBuilder().setHeaderDelay(FaultDelay.HeaderDelay.getDefaultInstance())).build();

      refusal(() -> RouteParser.parse(routes(withFault(fault))),
          ROUTES, FIRST_ROUTE + ".typed_per_filter_config.envoy.filters.http.fault.delay");
    }

    @Test
    void anAbortStatusOutsideHttpsRangeIsRefused() {
      HTTPFault fault = HTTPFault.newBuilder().setAbort(FaultAbort.newBuilder().setHttpStatus(100)).build();

      refusal(() -> RouteParser.parse(routes(withFault(fault))),
          ROUTES, FIRST_ROUTE + ".typed_per_filter_config.envoy.filters.http.fault.abort.http_status");
    }

    @Test
    void aPerFilterConfigForAnotherFilterIsRefused() {
      io.envoyproxy.envoy.config.route.v3.Route.Builder route = forward(toCluster("reviews"))
          .putTypedPerFilterConfig("envoy.filters.http.cors", Any.pack(Router.getDefaultInstance()));

      refusal(() -> RouteParser.parse(routes(route)), ROUTES, FIRST_ROUTE + ".typed_per_filter_config.envoy.filters.http.cors");
    }
  }

  // ---------------------------------------------------------------- clusters

  @Nested
  class Clusters {
    @ParameterizedTest
    @EnumSource(value = Cluster.LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH"})
    void eachSupportedLbPolicyBecomesItsBalancerWithEnvoysDefaults(Cluster.LbPolicy policy) throws Exception {
      ClusterConfig parsed = ClusterParser.parse(edsCluster("outbound|9080||reviews").setLbPolicy(policy).build());

      assertThat(parsed.balancer()).isEqualTo(new BalancerConfig(BalancerConfig.Policy.valueOf(policy.name()), 1024, 2));
    }

    @Test
    void readsTheRingHashMinimumRingSize() throws Exception {
      Cluster cluster = edsCluster("reviews").setLbPolicy(Cluster.LbPolicy.RING_HASH)
          .setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder().setMinimumRingSize(UInt64Value.of(4096))).build();

      assertThat(ClusterParser.parse(cluster).balancer()).isEqualTo(new BalancerConfig(BalancerConfig.Policy.RING_HASH, 4096, 2));
    }

    @Test
    void aRingLargerThanEnvoysLimitIsCappedAtIt() throws Exception {
      Cluster cluster = edsCluster("reviews").setLbPolicy(Cluster.LbPolicy.RING_HASH)
          .setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder().setMinimumRingSize(UInt64Value.of(100_000_000))).build();

      assertThat(ClusterParser.parse(cluster).balancer().minimumRingSize()).isEqualTo(8_388_608);
    }

    @Test
    void readsTheLeastRequestChoiceCount() throws Exception {
      Cluster cluster = edsCluster("reviews").setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST)
          .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setChoiceCount(UInt32Value.of(5))).build();

      assertThat(ClusterParser.parse(cluster).balancer()).isEqualTo(new BalancerConfig(BalancerConfig.Policy.LEAST_REQUEST, 1024, 5));
    }

    @Test
    void theEdsServiceNameDefaultsToTheClusterName() throws Exception {
      ClusterConfig plain = ClusterParser.parse(edsCluster("outbound|9080||reviews").build());
      ClusterConfig named = ClusterParser.parse(edsCluster("outbound|9080|v2|reviews")
          .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()).setServiceName("reviews-v2"))
          .setConnectTimeout(Durations.fromMillis(750)).build());

      assertThat(plain.edsServiceName()).isEqualTo("outbound|9080||reviews");
      assertThat(plain.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
      assertThat(plain.limits()).isEqualTo(ConnectionLimits.defaults());
      assertThat(plain.outlierDetection()).isEmpty();
      assertThat(named.name()).isEqualTo("outbound|9080|v2|reviews");
      assertThat(named.edsServiceName()).isEqualTo("reviews-v2");
      assertThat(named.connectTimeout()).isEqualTo(Duration.ofMillis(750));
    }

    @Test
    void theDefaultPriorityThresholdsBecomeConnectionLimits() throws Exception {
      Cluster cluster = edsCluster("reviews").setCircuitBreakers(CircuitBreakers.newBuilder()
          .addThresholds(CircuitBreakers.Thresholds.newBuilder().setPriority(RoutingPriority.HIGH)
              .setMaxConnections(UInt32Value.of(1)).setMaxRequests(UInt32Value.of(1)))
          .addThresholds(CircuitBreakers.Thresholds.newBuilder().setPriority(RoutingPriority.DEFAULT)
              .setMaxConnections(UInt32Value.of(100)).setMaxPendingRequests(UInt32Value.of(10))
              .setMaxRequests(UInt32Value.of(200)))).build();

      assertThat(ClusterParser.parse(cluster).limits()).isEqualTo(new ConnectionLimits(100, 10, 200, 3));
    }

    @Test
    void istiosUnlimitedThresholdsBecomeIntegerMaxValueAndTheRetryBudgetReplacesMaxRetries() throws Exception {
      Cluster cluster = edsCluster("reviews").setCircuitBreakers(CircuitBreakers.newBuilder()
          .addThresholds(CircuitBreakers.Thresholds.newBuilder()
              .setMaxConnections(UInt32Value.of(-1)).setMaxPendingRequests(UInt32Value.of(-1))
              .setMaxRequests(UInt32Value.of(-1)).setMaxRetries(UInt32Value.of(-1))
              .setRetryBudget(CircuitBreakers.Thresholds.RetryBudget.newBuilder()
                  .setBudgetPercent(io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(50))
                  .setMinRetryConcurrency(UInt32Value.of(1))))).build();

      ConnectionLimits limits = ClusterParser.parse(cluster).limits();

      assertThat(limits.maxConnections()).isEqualTo(Integer.MAX_VALUE);
      assertThat(limits.maxRetries()).isEqualTo(Integer.MAX_VALUE);
      assertThat(limits.effectiveRetryBudget()).isEqualTo(new dev.inmesh.internal.resilience.RetryBudgetConfig(50, 1));
    }

    @Test
    void withoutARetryBudgetMaxRetriesIsAFixedBudget() throws Exception {
      Cluster cluster = edsCluster("reviews").setCircuitBreakers(CircuitBreakers.newBuilder()
          .addThresholds(CircuitBreakers.Thresholds.newBuilder().setMaxRetries(UInt32Value.of(7)))).build();

      assertThat(ClusterParser.parse(cluster).limits().effectiveRetryBudget())
          .isEqualTo(new dev.inmesh.internal.resilience.RetryBudgetConfig(0, 7));
    }

    @Test
    void theHttpProtocolOptionsGiveTheIdleTimeoutAndTheRequestsPerConnection() throws Exception {
      var options = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
          .setCommonHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.newBuilder()
              .setIdleTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(2))
              .setMaxRequestsPerConnection(UInt32Value.of(1)))
          .build();
      Cluster cluster = edsCluster("reviews").putTypedExtensionProtocolOptions(
          "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", com.google.protobuf.Any.pack(options)).build();

      ConnectionLimits limits = ClusterParser.parse(cluster).limits();

      assertThat(limits.idleTimeout()).contains(Duration.ofSeconds(2));
      assertThat(limits.maxRequestsPerConnection()).isEqualTo(1);
    }

    @Test
    void theDeprecatedMaxRequestsPerConnectionStillCounts() throws Exception {
      Cluster cluster = edsCluster("reviews").setMaxRequestsPerConnection(UInt32Value.of(5)).build();

      assertThat(ClusterParser.parse(cluster).limits().maxRequestsPerConnection()).isEqualTo(5);
    }

    @Test
    void outlierDetectionEnforcesConsecutive5xxByDefaultAndGatewayErrorsOnlyWhenAsked() throws Exception {
      Cluster cluster = edsCluster("reviews").setOutlierDetection(OutlierDetection.newBuilder()
          .setConsecutive5Xx(UInt32Value.of(7))
          .setConsecutiveGatewayFailure(UInt32Value.of(3))
          .setInterval(Durations.fromSeconds(2))
          .setBaseEjectionTime(Durations.fromSeconds(60))
          .setMaxEjectionPercent(UInt32Value.of(40)))
          .setCommonLbConfig(Cluster.CommonLbConfig.newBuilder().setHealthyPanicThreshold(Percent.newBuilder().setValue(30)))
          .build();

      assertThat(ClusterParser.parse(cluster).outlierDetection()).contains(
          new OutlierDetectionConfig(7, 0, Duration.ofSeconds(2), Duration.ofSeconds(60), 40, 30));
    }

    @Test
    void enforcingGatewayFailuresTurnsThemOnAndEnforcing5xxAtZeroTurnsThoseOff() throws Exception {
      Cluster cluster = edsCluster("reviews").setOutlierDetection(OutlierDetection.newBuilder()
          .setConsecutive5Xx(UInt32Value.of(7))
          .setEnforcingConsecutive5Xx(UInt32Value.of(0))
          .setConsecutiveGatewayFailure(UInt32Value.of(3))
          .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100))).build();

      OutlierDetectionConfig parsed = ClusterParser.parse(cluster).outlierDetection().orElseThrow();

      assertThat(parsed.consecutive5xx()).isZero();
      assertThat(parsed.consecutiveGatewayErrors()).isEqualTo(3);
    }

    @Test
    void anEmptyOutlierDetectionTakesEnvoysDefaults() throws Exception {
      Cluster cluster = edsCluster("reviews").setOutlierDetection(OutlierDetection.getDefaultInstance()).build();

      assertThat(ClusterParser.parse(cluster).outlierDetection()).contains(OutlierDetectionConfig.defaults());
    }

    @ParameterizedTest
    @EnumSource(value = Cluster.DiscoveryType.class, names = {"ORIGINAL_DST", "STATIC", "STRICT_DNS", "LOGICAL_DNS"})
    void aClusterThatIsNotEdsIsRefused(Cluster.DiscoveryType type) {
      Cluster cluster = edsCluster("passthrough").setType(type).build();

      XdsParseException refused = refusal(() -> ClusterParser.parse(cluster), "Cluster passthrough", "type");
      assertThat(refused.getMessage()).contains(type.name());
    }

    @Test
    void maglevIsRefused() {
      Cluster cluster = edsCluster("reviews").setLbPolicy(Cluster.LbPolicy.MAGLEV).build();

      XdsParseException refused = refusal(() -> ClusterParser.parse(cluster), "Cluster reviews", "lb_policy");
      assertThat(refused.getMessage()).contains("MAGLEV");
    }

    @Test
    void endpointsThatDoNotComeOverAdsAreRefused() {
      Cluster cluster = edsCluster("reviews").setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder()
          .setEdsConfig(ConfigSource.newBuilder().setPathConfigSource(PathConfigSource.newBuilder().setPath("/etc/eds.yaml")))).build();

      refusal(() -> ClusterParser.parse(cluster), "Cluster reviews", "eds_cluster_config.eds_config");
    }
  }

  // ---------------------------------------------------------------- endpoints

  @Nested
  class Endpoints {
    @Test
    void readsEndpointsWithTheirLocalitiesAndWeightsSkippingUnhealthyAndDrainingOnes() throws Exception {
      ClusterLoadAssignment assignment = ClusterLoadAssignment.newBuilder().setClusterName("reviews")
          .addEndpoints(LocalityLbEndpoints.newBuilder()
              .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
                  .setRegion("us-east1").setZone("us-east1-b").setSubZone("rack7"))
              .addLbEndpoints(lbEndpoint("10.0.0.5", 9080).setLoadBalancingWeight(UInt32Value.of(3)))
              .addLbEndpoints(lbEndpoint("10.0.0.6", 9080).setHealthStatus(HealthStatus.UNHEALTHY))
              .addLbEndpoints(lbEndpoint("10.0.0.7", 9080).setHealthStatus(HealthStatus.HEALTHY)))
          .addEndpoints(LocalityLbEndpoints.newBuilder()
              .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("eu-west1").setZone("eu-west1-a"))
              .addLbEndpoints(lbEndpoint("10.1.0.5", 9080).setHealthStatus(HealthStatus.DRAINING))
              .addLbEndpoints(lbEndpoint("fd00::8", 9443).setLoadBalancingWeight(UInt32Value.of(0))))
          .build();

      Locality east = new Locality("us-east1", "us-east1-b", "rack7");
      Locality west = new Locality("eu-west1", "eu-west1-a", "");
      assertThat(ClusterParser.endpoints(assignment)).containsExactly(
          new Endpoint("10.0.0.5", 9080, east, 3),
          new Endpoint("10.0.0.7", 9080, east, 1),
          new Endpoint("fd00::8", 9443, west, 1));
    }

    @Test
    void readsEachLocalitysPriorityAndWeightAndLeavesOutALocalityThatWeighsZero() throws Exception {
      ClusterLoadAssignment assignment = ClusterLoadAssignment.newBuilder().setClusterName("reviews")
          .addEndpoints(LocalityLbEndpoints.newBuilder()
              .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("r1").setZone("z1"))
              .setLoadBalancingWeight(UInt32Value.of(80))
              .addLbEndpoints(lbEndpoint("10.0.0.5", 9080)))
          .addEndpoints(LocalityLbEndpoints.newBuilder()
              .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("r1").setZone("z2"))
              .setPriority(1)
              .setLoadBalancingWeight(UInt32Value.of(20))
              .addLbEndpoints(lbEndpoint("10.0.0.6", 9080)))
          .addEndpoints(LocalityLbEndpoints.newBuilder()
              .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("r2"))
              .setLoadBalancingWeight(UInt32Value.of(0))
              .addLbEndpoints(lbEndpoint("10.0.0.7", 9080)))
          .build();

      List<Endpoint> endpoints = ClusterParser.endpoints(assignment);

      assertThat(endpoints).extracting(Endpoint::address, Endpoint::priority, Endpoint::localityWeight)
          .containsExactly(tuple("10.0.0.5", 0, 80), tuple("10.0.0.6", 1, 20));
    }

    @Test
    void anAssignmentWithoutEndpointsIsEmpty() throws Exception {
      assertThat(ClusterParser.endpoints(ClusterLoadAssignment.newBuilder().setClusterName("reviews").build())).isEmpty();
    }

    @Test
    void anEndpointWithoutAPortIsRefused() {
      ClusterLoadAssignment assignment = ClusterLoadAssignment.newBuilder().setClusterName("reviews")
          .addEndpoints(LocalityLbEndpoints.newBuilder()
              .addLbEndpoints(lbEndpoint("10.0.0.5", 9080))
              .addLbEndpoints(lbEndpoint("10.0.0.6", 0)))
          .build();

      refusal(() -> ClusterParser.endpoints(assignment), "ClusterLoadAssignment reviews",
          "endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value");
    }
  }
}
