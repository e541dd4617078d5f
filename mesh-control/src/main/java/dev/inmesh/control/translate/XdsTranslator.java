package dev.inmesh.control.translate;

import dev.inmesh.control.translate.authn.JwksResolver;
import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.networking.DestinationRule;
import dev.inmesh.control.config.networking.DestinationRule.TrafficPolicy;
import dev.inmesh.control.config.networking.VirtualService;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns Istio resources and registered workloads into the xDS resources that the clients of one
 * namespace receive. It is a pure function of its input: no clock, no I/O but the injected DNS.
 *
 * <p>Per service port it emits an {@code api_listener} named {@code <host>:<port>} (one per name a
 * client may dial it by) with an HttpConnectionManager that takes its routes over RDS and runs the
 * fault and router filters; a route configuration named {@code <fqdn>:<port>}; EDS clusters
 * {@code outbound|<port>|<subset>|<fqdn>}; and their ClusterLoadAssignments. These are the shapes
 * proxyless gRPC (gRFC A27, A28, A33) accepts.
 */
public final class XdsTranslator {
  public static final String FAULT_FILTER = "envoy.filters.http.fault";
  public static final String ROUTER_FILTER = "envoy.filters.http.router";
  static final ConfigSource ADS = ConfigSource.newBuilder()
      .setAds(AggregatedConfigSource.getDefaultInstance())
      .setResourceApiVersion(ApiVersion.V3)
      .build();

  private final HostResolver resolver;
  private final String trustDomain;
  private final List<String> trustDomainAliases;
  private final JwksResolver jwks;

  public XdsTranslator(HostResolver resolver) {
    this(resolver, "cluster.local");
  }

  /** @param trustDomain the trust domain of the workloads' SPIFFE IDs, which clients verify under mTLS */
  public XdsTranslator(HostResolver resolver, String trustDomain) {
    this(resolver, trustDomain, List.of());
  }

  /**
   * @param trustDomain the trust domain of the workloads' SPIFFE IDs, which clients verify under mTLS
   *     and authorization policies match principals in
   * @param trustDomainAliases Istio's {@code trustDomainAliases}: the trust domains authorization
   *     treats as the same as {@code trustDomain}
   */
  public XdsTranslator(HostResolver resolver, String trustDomain, List<String> trustDomainAliases) {
    this(resolver, trustDomain, trustDomainAliases, JwksResolver.onDemand());
  }

  /** @param jwks where the keys behind a RequestAuthentication's {@code jwksUri} come from */
  public XdsTranslator(HostResolver resolver, String trustDomain, List<String> trustDomainAliases, JwksResolver jwks) {
    this.resolver = resolver;
    this.trustDomain = trustDomain;
    this.trustDomainAliases = List.copyOf(trustDomainAliases);
    this.jwks = jwks;
  }

  /** The resources for Inmesh clients of {@code clientNamespace} that hold no mesh certificate. */
  public Translation translate(MeshState state, String clientNamespace) {
    return translate(state, ClientProfile.inmesh(clientNamespace));
  }

  public Translation translate(MeshState state, ClientProfile profile) {
    String clientNamespace = profile.namespace();
    Warnings warnings = new Warnings();
    ServiceIndex services = ServiceIndex.build(state, resolver, warnings::add);
    List<ConfigResource> virtualServices = visible(state.ofKind(VirtualService.class), clientNamespace,
        r -> r.spec(VirtualService.class).exportTo());
    List<ConfigResource> destinationRules = visible(state.ofKind(DestinationRule.class), clientNamespace,
        r -> r.spec(DestinationRule.class).exportTo());
    Policies policies = new Policies(services, destinationRules, clientNamespace);
    ClusterBuilder clusters = new ClusterBuilder(policies, warnings, profile, trustDomain, PeerAuthentications.of(state));
    RouteBuilder routes = new RouteBuilder(services, policies, warnings, profile);

    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routeConfigs = new ArrayList<>();
    for (MeshService service : services.services()) {
      if (!service.visibleFrom(clientNamespace)) {
        continue;
      }
      Optional<ConfigResource> virtualService = selectVirtualService(service, virtualServices, warnings);
      for (MeshService.Port port : service.ports()) {
        String routeName = ClusterNames.hostPort(service.hostname(), port.number());
        Set<String> domains = new LinkedHashSet<>();
        for (String alias : service.aliases(clientNamespace)) {
          domains.add(ClusterNames.hostPort(alias, port.number()));
          if (service.ports().size() == 1) {
            domains.add(alias);
          }
        }
        for (String domain : domains) {
          listeners.add(listener(domain, routeName));
        }
        List<Route> serviceRoutes = virtualService
            .map(vs -> routes.fromVirtualService(vs, service, port.number()))
            .orElseGet(() -> List.of(routes.defaultRoute(service, port.number())));
        if (profile.proxylessGrpc()) {
          serviceRoutes = GrpcRoutes.adapt(serviceRoutes, ClusterNames.outbound(port.number(), "", service.hostname()));
          virtualService.ifPresent(vs -> GrpcRoutes.warn(vs, warnings));
        }
        routeConfigs.add(RouteConfiguration.newBuilder()
            .setName(routeName)
            .addVirtualHosts(VirtualHost.newBuilder()
                .setName(routeName)
                .addAllDomains(domains)
                .addAllRoutes(serviceRoutes))
            .build());
        clusters.addService(service, port.number());
      }
    }
    if (profile.gateway()) {
      List<HttpFilter> security = InboundListeners.gatewayFilters(state, profile, trustDomain, trustDomainAliases, jwks,
          warnings);
      new GatewayTranslator(warnings, routes, profile, security).translate(state, listeners, routeConfigs);
    }
    listeners.addAll(InboundListeners.build(state, profile, trustDomain, trustDomainAliases, jwks, warnings));
    return new Translation(listeners, routeConfigs, clusters.clusters(), clusters.endpoints(), warnings.list());
  }

  private static List<ConfigResource> visible(List<ConfigResource> resources, String clientNamespace,
      java.util.function.Function<ConfigResource, List<String>> exportTo) {
    return resources.stream()
        .filter(r -> MeshService.isExported(exportTo.apply(r), r.namespace(), clientNamespace))
        .toList();
  }

  /**
   * Istio gives a host one VirtualService on the sidecar: an exact host beats a wildcard, and
   * among equals the first (here by namespace and name) wins. The losers are named in a warning.
   */
  private static Optional<ConfigResource> selectVirtualService(MeshService service, List<ConfigResource> candidates,
      Warnings warnings) {
    List<ConfigResource> exact = new ArrayList<>();
    List<ConfigResource> wildcard = new ArrayList<>();
    for (ConfigResource resource : candidates) {
      VirtualService vs = resource.spec(VirtualService.class);
      if (!vs.appliesToMesh()) {
        continue;
      }
      for (String host : vs.hosts()) {
        String resolved = Hosts.resolve(host, resource.namespace());
        if (resolved.equals(service.hostname())) {
          exact.add(resource);
          break;
        }
        if (Hosts.wildcardMatches(resolved, service.hostname())) {
          wildcard.add(resource);
          break;
        }
      }
    }
    List<ConfigResource> ordered = new ArrayList<>(exact);
    ordered.addAll(wildcard);
    ordered.sort(Comparator.comparing((ConfigResource r) -> exact.contains(r) ? 0 : 1).thenComparing(ConfigResource::key));
    if (ordered.size() > 1) {
      for (ConfigResource loser : ordered.subList(1, ordered.size())) {
        warnings.add(loser, "host " + service.hostname() + " is already routed by " + ordered.get(0).key()
            + "; this VirtualService is ignored for it (Istio applies one VirtualService per host)");
      }
    }
    return ordered.stream().findFirst();
  }

  private static Listener listener(String name, String routeName) {
    HttpConnectionManager manager = HttpConnectionManager.newBuilder()
        .setStatPrefix(name)
        .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeName))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(FAULT_FILTER)
            .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Listener.newBuilder()
        .setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(manager)))
        .build();
  }

  /** Finds the DestinationRule and so the traffic policy for a host, as Istio does. */
  static final class Policies {
    private final ServiceIndex services;
    private final List<ConfigResource> destinationRules;
    private final String clientNamespace;
    private final Map<String, Optional<ConfigResource>> cache = new LinkedHashMap<>();

    Policies(ServiceIndex services, List<ConfigResource> destinationRules, String clientNamespace) {
      this.services = services;
      this.destinationRules = destinationRules;
      this.clientNamespace = clientNamespace;
    }

    ServiceIndex services() {
      return services;
    }

    /**
     * Istio's precedence: a rule in the client's namespace, then in the service's namespace, then
     * anywhere; an exact host beats a wildcard.
     */
    Optional<ConfigResource> ruleFor(String hostname) {
      return cache.computeIfAbsent(hostname, host -> {
        String serviceNamespace = services.find(host).map(MeshService::namespace).orElse("");
        return destinationRules.stream()
            .filter(r -> {
              String resolved = Hosts.resolve(r.spec(DestinationRule.class).host(), r.namespace());
              return resolved.equals(host) || Hosts.wildcardMatches(resolved, host);
            })
            .min(Comparator
                .comparing((ConfigResource r) -> Hosts.resolve(r.spec(DestinationRule.class).host(), r.namespace()).equals(host) ? 0 : 1)
                .thenComparing(r -> r.namespace().equals(clientNamespace) ? 0 : r.namespace().equals(serviceNamespace) ? 1 : 2)
                .thenComparing(ConfigResource::key));
      });
    }

    /** The policy for one cluster: top level, port level, then the subset's own. */
    TrafficPolicy policy(String hostname, int port, String subset) {
      Optional<DestinationRule> rule = ruleFor(hostname).map(r -> r.spec(DestinationRule.class));
      TrafficPolicy top = rule.flatMap(DestinationRule::trafficPolicy).orElse(TrafficPolicy.NONE).forPort(port);
      if (subset.isEmpty() || rule.isEmpty()) {
        return top;
      }
      return rule.get().subset(subset)
          .flatMap(DestinationRule.Subset::trafficPolicy)
          .map(p -> top.overriddenBy(p.forPort(port)))
          .orElse(top);
    }
  }

  /** Collects translation warnings, once each. */
  static final class Warnings {
    private final Set<Problem> problems = new LinkedHashSet<>();

    void add(ConfigResource resource, String message) {
      problems.add(new Problem(Problem.Severity.WARNING, resource.source(), resource.key().toString(), "", message));
    }

    void add(ConfigResource resource, String field, String message) {
      problems.add(new Problem(Problem.Severity.WARNING, resource.source(), resource.key().toString(), field, message));
    }

    List<Problem> list() {
      return List.copyOf(problems);
    }
  }

  static UInt32Value u32(long value) {
    return UInt32Value.of((int) Math.min(value, 0xFFFF_FFFFL));
  }
}
