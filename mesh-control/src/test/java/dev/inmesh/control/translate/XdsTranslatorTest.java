package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class XdsTranslatorTest {
  private static final String FQDN = "reviews.default.svc.cluster.local";
  private static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: reviews
      spec:
        host: reviews
        subsets:
        - name: v1
          labels:
            version: v1
        - name: v2
          labels:
            version: v2
      """;

  private final XdsTranslator translator = new XdsTranslator(host -> host.equals("db.example.com") ? List.of("10.0.0.7", "10.0.0.8") : List.of());
  private final List<Workload> workloads = new ArrayList<>(List.of(
      workload("reviews", "v1", 9001, new Locality("eu", "a", "")),
      workload("reviews", "v2", 9002, new Locality("eu", "b", "")),
      workload("reviews", "v2", 9003, new Locality("eu", "b", ""))));

  @Test
  void eachNameAClientMayDialGetsAnApiListenerThatTakesItsRoutesOverAds() throws Exception {
    Translation translation = translate("default");

    assertThat(translation.listeners()).extracting(Listener::getName).filteredOn(n -> !n.startsWith("grpc/server?"))
        .containsExactly(FQDN + ":9080", FQDN, "reviews:9080", "reviews", "reviews.default:9080", "reviews.default",
            "reviews.default.svc:9080", "reviews.default.svc");
    HttpConnectionManager manager = translation.listeners().get(0).getApiListener().getApiListener()
        .unpack(HttpConnectionManager.class);
    assertThat(manager.getRds().getRouteConfigName()).isEqualTo(FQDN + ":9080");
    assertThat(manager.getRds().getConfigSource().hasAds()).isTrue();
    assertThat(manager.getHttpFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.http.fault", "envoy.filters.http.router");
  }

  @Test
  void eachRegisteredWorkloadGetsInboundListenersForProxylessServers() throws Exception {
    Translation translation = translate("default", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-admin
        spec:
          selector:
            matchLabels:
              version: v2
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/admin/*"]
        """);

    List<String> inbound = translation.listeners().stream().map(Listener::getName).filter(n -> n.startsWith("grpc/server?")).toList();
    assertThat(inbound).contains("grpc/server?xds.resource.listening_address=127.0.0.1:9001",
        "grpc/server?xds.resource.listening_address=0.0.0.0:9002", "grpc/server?xds.resource.listening_address=[::]:9003");
    Listener v2 = translation.listeners().stream()
        .filter(l -> l.getName().equals("grpc/server?xds.resource.listening_address=0.0.0.0:9002")).findFirst().orElseThrow();
    assertThat(v2.getAddress().getSocketAddress().getPortValue()).isEqualTo(9002);
    HttpConnectionManager manager = v2.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(manager.getHttpFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.http.rbac.DENY", "envoy.filters.http.router");
    assertThat(manager.getRouteConfig().getVirtualHosts(0).getRoutes(0).hasNonForwardingAction()).isTrue();
    Listener v1 = translation.listeners().stream()
        .filter(l -> l.getName().equals("grpc/server?xds.resource.listening_address=0.0.0.0:9001")).findFirst().orElseThrow();
    assertThat(v1.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class).getHttpFiltersList())
        .extracting(f -> f.getName()).containsExactly("envoy.filters.http.router");
  }

  @Test
  void inboundListenersForProxylessGrpcLeaveOutOfDenyRulesWhatGrpcCannotEvaluate() throws Exception {
    String policy = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-export
        spec:
          action: DENY
          rules:
          - to:
            - operation:
                paths: ["/{*}/Export"]
        """;
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", policy);
    MeshState state = new MeshState(parsed.resources(), workloads);
    String name = "grpc/server?xds.resource.listening_address=0.0.0.0:9001";

    Translation inmesh = translator.translate(state, new ClientProfile("default", false, false));
    Translation grpc = translator.translate(state, new ClientProfile("default", true, false));

    assertThat(inboundRbac(inmesh, name)).contains("uri_template");
    assertThat(inboundRbac(grpc, name)).doesNotContain("uri_template").contains("any: true");
    assertThat(grpc.warnings()).extracting(Problem::field).contains("spec.rules[0].to[0].operation.paths");
    assertThat(inmesh.warnings()).extracting(Problem::field).doesNotContain("spec.rules[0].to[0].operation.paths");
  }

  @Test
  void inboundPrincipalsAreInTheMeshTrustDomainAndEachAlias() throws Exception {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: from-sleep
        spec:
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/default/sa/sleep"]
        """);
    MeshState state = new MeshState(parsed.resources(), workloads);
    XdsTranslator migrated = new XdsTranslator(host -> List.of(), "new-td", List.of("old-td"));

    String rbac = inboundRbac(migrated.translate(state, new ClientProfile("default", false, false)),
        "grpc/server?xds.resource.listening_address=0.0.0.0:9001");

    assertThat(rbac).contains("spiffe://new-td/ns/default/sa/sleep", "spiffe://old-td/ns/default/sa/sleep")
        .doesNotContain("spiffe://cluster.local/");
  }

  private static String inboundRbac(Translation translation, String listener) throws Exception {
    Listener inbound = translation.listeners().stream().filter(l -> l.getName().equals(listener)).findFirst().orElseThrow();
    return inbound.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class)
        .getHttpFilters(0).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).toString();
  }

  @Test
  void shortNamesOnlyResolveInTheServicesOwnNamespace() {
    Translation translation = translate("other");

    assertThat(translation.listeners()).extracting(Listener::getName)
        .contains(FQDN + ":9080", "reviews.default:9080")
        .doesNotContain("reviews:9080", "reviews");
  }

  @Test
  void withoutAVirtualServiceEverythingGoesToTheWholeServiceWithIstiosDefaultRetries() {
    Route route = routeConfig(translate("default")).getVirtualHosts(0).getRoutes(0);

    assertThat(route.getMatch().getPrefix()).isEqualTo("/");
    assertThat(route.getRoute().getCluster()).isEqualTo("outbound|9080||" + FQDN);
    assertThat(route.getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(2);
    assertThat(route.getRoute().getRetryPolicy().getRetryOn()).contains("unavailable", "connect-failure");
  }

  @Test
  void subsetsBecomeClustersWithIstiosNamesAndOnlyTheirEndpoints() {
    Translation translation = translate("default", DESTINATION_RULE);

    assertThat(translation.clusters()).extracting(Cluster::getName).containsExactly(
        "outbound|9080||" + FQDN, "outbound|9080|v1|" + FQDN, "outbound|9080|v2|" + FQDN);
    Cluster v2 = cluster(translation, "outbound|9080|v2|" + FQDN);
    assertThat(v2.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(v2.getEdsClusterConfig().getServiceName()).isEqualTo(v2.getName());
    assertThat(v2.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();
    assertThat(endpointPorts(endpoints(translation, "outbound|9080|v1|" + FQDN))).containsExactly(9001);
    assertThat(endpointPorts(endpoints(translation, "outbound|9080|v2|" + FQDN))).containsExactly(9002, 9003);
    assertThat(endpointPorts(endpoints(translation, "outbound|9080||" + FQDN))).containsExactlyInAnyOrder(9001, 9002, 9003);
  }

  @Test
  void everyLocalityCarriesTheSumOfItsEndpointWeightsBecauseGrpcDropsUnweightedOnes() {
    ClusterLoadAssignment all = endpoints(translate("default"), "outbound|9080||" + FQDN);

    assertThat(all.getEndpointsList()).extracting(l -> l.getLocality().getZone() + "=" + l.getLoadBalancingWeight().getValue())
        .containsExactly("a=1", "b=2");
  }

  @Test
  void weightsHeaderMatchesTimeoutRetriesAndFaultsTranslateToEnvoyRoutes() throws InvalidProtocolBufferException {
    Translation translation = translate("default", DESTINATION_RULE, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts:
          - reviews
          http:
          - name: jason
            match:
            - headers:
                end-user:
                  exact: jason
              uri:
                prefix: /api
            fault:
              abort:
                httpStatus: 503
                percentage:
                  value: 12.5
              delay:
                fixedDelay: 2s
            timeout: 1.5s
            retries:
              attempts: 3
              perTryTimeout: 500ms
              retryOn: 5xx,unavailable,409
            route:
            - destination:
                host: reviews
                subset: v2
          - route:
            - destination:
                host: reviews
                subset: v1
              weight: 80
            - destination:
                host: reviews
                subset: v2
              weight: 20
        """);
    List<Route> routes = routeConfig(translation).getVirtualHosts(0).getRoutesList();

    assertThat(routes).hasSize(2);
    Route jason = routes.get(0);
    assertThat(jason.getMatch().getPrefix()).isEqualTo("/api");
    assertThat(jason.getMatch().getHeaders(0).getName()).isEqualTo("end-user");
    assertThat(jason.getMatch().getHeaders(0).getStringMatch().getExact()).isEqualTo("jason");
    assertThat(jason.getRoute().getCluster()).isEqualTo("outbound|9080|v2|" + FQDN);
    assertThat(jason.getRoute().getMaxStreamDuration().getMaxStreamDuration()).isEqualTo(Durations.fromMillis(1500));
    assertThat(jason.getRoute().getMaxStreamDuration().getGrpcTimeoutHeaderMax()).isEqualTo(Durations.fromMillis(1500));
    assertThat(jason.getRoute().getTimeout()).isEqualTo(Durations.fromMillis(1500));
    assertThat(jason.getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(3);
    assertThat(jason.getRoute().getRetryPolicy().getPerTryTimeout()).isEqualTo(Durations.fromMillis(500));
    assertThat(jason.getRoute().getRetryPolicy().getRetryOn()).isEqualTo("5xx,unavailable,409");
    assertThat(jason.getRoute().getRetryPolicy().getRetriableStatusCodesList()).containsExactly(409);
    HTTPFault fault = jason.getTypedPerFilterConfigOrThrow("envoy.filters.http.fault").unpack(HTTPFault.class);
    assertThat(fault.getAbort().getHttpStatus()).isEqualTo(503);
    assertThat(fault.getAbort().getPercentage().getNumerator()).isEqualTo(125_000);
    assertThat(fault.getAbort().getPercentage().getDenominator()).isEqualTo(FractionalPercent.DenominatorType.MILLION);
    assertThat(fault.getDelay().getFixedDelay()).isEqualTo(Durations.fromSeconds(2));
    assertThat(fault.getDelay().getPercentage().getNumerator()).isEqualTo(1_000_000);

    Route split = routes.get(1);
    assertThat(split.getMatch().getPrefix()).isEqualTo("/");
    assertThat(split.getRoute().getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight().getValue())
        .containsExactly("outbound|9080|v1|" + FQDN + "=80", "outbound|9080|v2|" + FQDN + "=20");
    assertThat(split.getRoute().hasMaxStreamDuration()).isFalse();
  }

  @Test
  void retriesWithZeroAttemptsLeaveNoRetryPolicy() {
    Route route = routeConfig(translate("default", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - retries:
              attempts: 0
            route:
            - destination:
                host: reviews
        """)).getVirtualHosts(0).getRoutes(0);

    assertThat(route.getRoute().hasRetryPolicy()).isFalse();
    assertThat(route.getRoute().getCluster()).isEqualTo("outbound|9080||" + FQDN);
  }

  @Test
  void trafficPoliciesBecomeClusterSettingsAndSubsetPoliciesOverrideTheTopLevel() {
    Translation translation = translate("default", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews.default.svc.cluster.local
          trafficPolicy:
            loadBalancer:
              simple: LEAST_REQUEST
            connectionPool:
              tcp:
                maxConnections: 10
                connectTimeout: 250ms
              http:
                http1MaxPendingRequests: 5
                http2MaxRequests: 50
            outlierDetection:
              consecutive5xxErrors: 3
              interval: 10s
              baseEjectionTime: 30s
              maxEjectionPercent: 50
          subsets:
          - name: v2
            labels:
              version: v2
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpHeaderName: X-User
                  ringHash:
                    minimumRingSize: 2048
        """, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination:
                host: reviews
                subset: v2
        """);

    Cluster all = cluster(translation, "outbound|9080||" + FQDN);
    assertThat(all.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(all.getConnectTimeout()).isEqualTo(Durations.fromMillis(250));
    assertThat(all.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue()).isEqualTo(10);
    assertThat(all.getCircuitBreakers().getThresholds(0).getMaxPendingRequests().getValue()).isEqualTo(5);
    assertThat(all.getCircuitBreakers().getThresholds(0).getMaxRequests().getValue()).isEqualTo(50);
    assertThat(all.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(3);
    assertThat(all.getOutlierDetection().getEnforcingSuccessRate().getValue()).isZero();
    assertThat(all.getOutlierDetection().getBaseEjectionTime()).isEqualTo(Durations.fromSeconds(30));
    assertThat(all.getOutlierDetection().getMaxEjectionPercent().getValue()).isEqualTo(50);

    Cluster v2 = cluster(translation, "outbound|9080|v2|" + FQDN);
    assertThat(v2.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    assertThat(v2.getRingHashLbConfig().getMinimumRingSize().getValue()).isEqualTo(2048);
    assertThat(v2.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue()).isEqualTo(10);
    Route route = routeConfig(translation).getVirtualHosts(0).getRoutes(0);
    assertThat(route.getRoute().getHashPolicy(0).getHeader().getHeaderName()).isEqualTo("x-user");
  }

  @Test
  void theConnectionPoolAndRetryBudgetTranslateAsIstioDoes() throws Exception {
    Translation translation = translate("default", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews.default.svc.cluster.local
          trafficPolicy:
            connectionPool:
              tcp:
                maxConnections: 1
              http:
                http1MaxPendingRequests: 1
                maxRequestsPerConnection: 1
                idleTimeout: 2s
            retryBudget:
              percent: 25
              minRetryConcurrency: 2
        """);

    Cluster all = cluster(translation, "outbound|9080||" + FQDN);
    var thresholds = all.getCircuitBreakers().getThresholds(0);
    assertThat(thresholds.getMaxConnections().getValue()).isEqualTo(1);
    assertThat(thresholds.getMaxPendingRequests().getValue()).isEqualTo(1);
    // what the rule leaves out is Istio's unlimited, 2^32-1
    assertThat(Integer.toUnsignedLong(thresholds.getMaxRequests().getValue())).isEqualTo(0xFFFF_FFFFL);
    assertThat(Integer.toUnsignedLong(thresholds.getMaxRetries().getValue())).isEqualTo(0xFFFF_FFFFL);
    assertThat(thresholds.getRetryBudget().getBudgetPercent().getValue()).isEqualTo(25.0);
    assertThat(thresholds.getRetryBudget().getMinRetryConcurrency().getValue()).isEqualTo(2);
    var options = all.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
        .unpack(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class);
    assertThat(options.getCommonHttpProtocolOptions().getIdleTimeout()).isEqualTo(Durations.fromSeconds(2));
    assertThat(options.getCommonHttpProtocolOptions().getMaxRequestsPerConnection().getValue()).isEqualTo(1);
  }

  @Test
  void aZeroThresholdIsIstiosNotSet() {
    Translation translation = translate("default", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews.default.svc.cluster.local
          trafficPolicy:
            connectionPool:
              tcp: {maxConnections: 0}
              http: {http1MaxPendingRequests: 0, http2MaxRequests: 0, maxRetries: 0, maxRequestsPerConnection: 0}
        """);

    Cluster all = cluster(translation, "outbound|9080||" + FQDN);
    var thresholds = all.getCircuitBreakers().getThresholds(0);
    assertThat(List.of(thresholds.getMaxConnections(), thresholds.getMaxPendingRequests(), thresholds.getMaxRequests(),
        thresholds.getMaxRetries())).allSatisfy(v -> assertThat(Integer.toUnsignedLong(v.getValue())).isEqualTo(0xFFFF_FFFFL));
    assertThat(all.getTypedExtensionProtocolOptionsMap()).isEmpty();
  }

  @Test
  void aRouteToAnUndefinedSubsetIsKeptAndWarnedAbout() {
    Translation translation = translate("default", DESTINATION_RULE, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination:
                host: reviews
                subset: v3
        """);

    assertThat(routeConfig(translation).getVirtualHosts(0).getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|9080|v3|" + FQDN);
    assertThat(translation.warnings()).extracting(Problem::toString).anySatisfy(w -> assertThat(w)
        .contains("VirtualService/default/reviews", "spec.http[0].route[0].destination.subset", "subset v3"));
  }

  @Test
  void oneVirtualServicePerHostWinsAndTheOtherIsNamedInAWarning() {
    String vs = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: %s
        spec:
          hosts: [%s]
          http:
          - route:
            - destination:
                host: reviews
                subset: %s
        """;
    Translation translation = translate("default", DESTINATION_RULE,
        vs.formatted("b-wildcard", "\"*.svc.cluster.local\"", "v2"),
        vs.formatted("c-exact", "reviews", "v1"),
        vs.formatted("a-exact", FQDN, "v2"));

    assertThat(routeConfig(translation).getVirtualHosts(0).getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|9080|v2|" + FQDN);
    assertThat(translation.warnings()).extracting(Problem::resource)
        .contains("VirtualService/default/c-exact", "VirtualService/default/b-wildcard");
  }

  @Test
  void aVirtualServiceExportedOnlyToItsNamespaceDoesNotRouteOtherNamespaces() {
    String vs = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          exportTo: ["."]
          http:
          - route:
            - destination:
                host: reviews
                subset: v1
        """;

    assertThat(routeConfig(translate("default", DESTINATION_RULE, vs)).getVirtualHosts(0).getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|9080|v1|" + FQDN);
    assertThat(routeConfig(translate("other", DESTINATION_RULE, vs)).getVirtualHosts(0).getRoutes(0).getName())
        .isEqualTo("default");
  }

  @Test
  void dnsServiceEntriesResolveThroughTheInjectedResolver() {
    Translation translation = translate("default", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: db
        spec:
          hosts: [db.example.com]
          ports:
          - number: 5432
            name: tcp
          resolution: DNS
        """);

    assertThat(translation.listeners()).extracting(Listener::getName).contains("db.example.com:5432");
    ClusterLoadAssignment db = endpoints(translation, "outbound|5432||db.example.com");
    assertThat(db.getEndpoints(0).getLbEndpointsList())
        .extracting(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress())
        .containsExactly("10.0.0.7", "10.0.0.8");
  }

  @Test
  void aMatchOnTheCallersLabelsIsNeverTakenUntilItCanBeEnforced() {
    Translation translation = translate("default", DESTINATION_RULE, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - match:
            - sourceLabels:
                app: productpage
            route:
            - destination:
                host: reviews
                subset: v2
          - route:
            - destination:
                host: reviews
                subset: v1
        """);

    assertThat(routeConfig(translation).getVirtualHosts(0).getRoutesList()).hasSize(1);
    assertThat(translation.warnings()).extracting(Problem::field).contains("spec.http[0].match[0].sourceLabels");
  }

  @Test
  void aMatchWhoseOwnGatewaysLeaveOutMeshIsNotTakenByMeshClients() {
    Translation translation = translate("default", DESTINATION_RULE, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          gateways: [mesh, bookinfo-gateway]
          http:
          - match:
            - gateways: [bookinfo-gateway]
              uri:
                prefix: /edge
            route:
            - destination:
                host: reviews
                subset: v2
          - match:
            - gateways: [mesh]
              uri:
                prefix: /inside
            route:
            - destination:
                host: reviews
                subset: v1
        """);

    assertThat(routeConfig(translation).getVirtualHosts(0).getRoutesList())
        .extracting(r -> r.getMatch().getPrefix())
        .containsExactly("/inside");
  }

  @Test
  void mirrorPercentMirrorsAndDestinationResponseHeadersReachTheRoute() {
    Translation translation = translate("default", DESTINATION_RULE, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - match:
            - uri:
                prefix: /old
            route:
            - destination:
                host: reviews
                subset: v1
              headers:
                response:
                  set:
                    x-served-by: v1
            mirror:
              host: reviews
              subset: v2
            mirror_percent: 30
          - route:
            - destination:
                host: reviews
                subset: v1
              weight: 90
              headers:
                response:
                  add:
                    x-canary: "no"
            - destination:
                host: reviews
                subset: v2
              weight: 10
              headers:
                response:
                  remove: [x-internal]
            mirrors:
            - destination:
                host: reviews
                subset: v2
              percentage:
                value: 25
            - destination:
                host: reviews
                subset: v1
        """);

    List<Route> routes = routeConfig(translation).getVirtualHosts(0).getRoutesList();
    Route single = routes.get(0);
    assertThat(single.getResponseHeadersToAddList()).extracting(h -> h.getHeader().getKey() + "=" + h.getHeader().getValue())
        .containsExactly("x-served-by=v1");
    assertThat(single.getRoute().getRequestMirrorPoliciesList()).singleElement().satisfies(m -> {
      assertThat(m.getCluster()).isEqualTo("outbound|9080|v2|" + FQDN);
      assertThat(m.getRuntimeFraction().getDefaultValue().getNumerator()).isEqualTo(300_000);
    });
    Route weighted = routes.get(1);
    assertThat(weighted.getRoute().getWeightedClusters().getClusters(0).getResponseHeadersToAddList())
        .extracting(h -> h.getHeader().getKey()).containsExactly("x-canary");
    assertThat(weighted.getRoute().getWeightedClusters().getClusters(1).getResponseHeadersToRemoveList())
        .containsExactly("x-internal");
    assertThat(weighted.getRoute().getRequestMirrorPoliciesList())
        .extracting(m -> m.getCluster() + " " + m.getRuntimeFraction().getDefaultValue().getNumerator())
        .containsExactly("outbound|9080|v2|" + FQDN + " 250000", "outbound|9080|v1|" + FQDN + " 1000000");
  }

  @Test
  void proxylessGrpcGetsNoPseudoHeaderMatcherItWouldFailCallsOn() {
    String vs = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - name: posts
            match:
            - method:
                exact: POST
            route:
            - destination:
                host: reviews
                subset: v2
          - name: gets
            match:
            - method:
                regex: GET|HEAD
            route:
            - destination:
                host: reviews
                subset: v2
          - name: by-authority
            match:
            - authority:
                prefix: reviews
            route:
            - destination:
                host: reviews
                subset: v2
          - name: rest
            route:
            - destination:
                host: reviews
                subset: v1
        """;
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", DESTINATION_RULE + "\n---\n" + vs);
    MeshState state = new MeshState(parsed.resources(), workloads);

    Translation grpc = translator.translate(state, new ClientProfile("default", true, false));
    Translation inmesh = translator.translate(state, new ClientProfile("default", false, false));

    List<Route> grpcRoutes = routeConfig(grpc).getVirtualHosts(0).getRoutesList();
    assertThat(grpcRoutes).extracting(Route::getName).containsExactly("posts", "rest");
    assertThat(grpcRoutes.get(0).getMatch().getHeadersList()).isEmpty();
    assertThat(grpc.warnings()).extracting(Problem::field).contains("spec.http[2].match[0].authority");
    assertThat(routeConfig(inmesh).getVirtualHosts(0).getRoutesList()).extracting(Route::getName)
        .containsExactly("posts", "gets", "by-authority", "rest");
    assertThat(routeConfig(inmesh).getVirtualHosts(0).getRoutes(1).getMatch().getHeaders(0).getName()).isEqualTo(":method");
  }

  @Test
  void whatGrpcJavaWouldNackOrIgnoreInADestinationRuleReachesItsClientsAsTheNearestItTakesWithAWarning() {
    String rules = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          trafficPolicy:
            loadBalancer:
              simple: RANDOM
            outlierDetection:
              consecutive5xxErrors: 3
              minHealthPercent: 40
          subsets:
          - name: v1
            labels:
              version: v1
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpCookie:
                    name: user
        """;
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", rules);
    MeshState state = new MeshState(parsed.resources(), workloads);

    Translation grpc = translator.translate(state, new ClientProfile("default", true, false));
    Translation inmesh = translator.translate(state, new ClientProfile("default", false, false));

    assertThat(cluster(grpc, "outbound|9080||" + FQDN).getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
    assertThat(cluster(inmesh, "outbound|9080||" + FQDN).getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
    assertThat(grpc.warnings()).extracting(Problem::field).contains("trafficPolicy.loadBalancer.simple",
        "trafficPolicy.outlierDetection.minHealthPercent", "trafficPolicy.loadBalancer.consistentHash.httpCookie");
    assertThat(inmesh.warnings()).extracting(Problem::field).doesNotContain("trafficPolicy.loadBalancer.simple",
        "trafficPolicy.outlierDetection.minHealthPercent", "trafficPolicy.loadBalancer.consistentHash.httpCookie");
  }

  @Test
  void aClusterNoRuleLimitsGetsIstiosUnlimitedThresholdsNotEnvoysDefaults() {
    var thresholds = cluster(translate("default"), "outbound|9080||" + FQDN).getCircuitBreakers().getThresholds(0);

    long unlimited = 4_294_967_295L;
    assertThat(thresholds.getMaxConnections().getValue() & 0xffffffffL).isEqualTo(unlimited);
    assertThat(thresholds.getMaxPendingRequests().getValue() & 0xffffffffL).isEqualTo(unlimited);
    assertThat(thresholds.getMaxRequests().getValue() & 0xffffffffL).isEqualTo(unlimited);
    assertThat(thresholds.getMaxRetries().getValue() & 0xffffffffL).isEqualTo(unlimited);
  }

  private Translation translate(String namespace, String... yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", String.join("\n---\n", yaml));
    assertThat(parsed.errors()).isEmpty();
    return translator.translate(new MeshState(parsed.resources(), workloads), namespace);
  }

  private static Workload workload(String service, String version, int port, Locality locality) {
    WorkloadMetadata metadata = new WorkloadMetadata(service, "default", service, service + "-" + version + "-" + port,
        Map.of("app", service, "version", version), "127.0.0.1", List.of(ServicePort.of("http", 9080, port)), locality);
    return new Workload(service + "-" + port, metadata, Instant.EPOCH);
  }

  private static RouteConfiguration routeConfig(Translation translation) {
    return translation.routes().stream().filter(r -> r.getName().equals(FQDN + ":9080")).findFirst().orElseThrow();
  }

  private static Cluster cluster(Translation translation, String name) {
    return translation.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  private static ClusterLoadAssignment endpoints(Translation translation, String name) {
    return translation.endpoints().stream().filter(c -> c.getClusterName().equals(name)).findFirst().orElseThrow();
  }

  private static List<Integer> endpointPorts(ClusterLoadAssignment assignment) {
    List<Integer> ports = new ArrayList<>();
    assignment.getEndpointsList().forEach(l -> l.getLbEndpointsList()
        .forEach(e -> ports.add(e.getEndpoint().getAddress().getSocketAddress().getPortValue())));
    return ports;
  }
}
