package dev.inmesh.control.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.networking.Gateway;
import dev.inmesh.control.config.networking.Gateway.Server;
import dev.inmesh.control.config.networking.Gateway.ServerTls;
import dev.inmesh.control.config.networking.Gateway.TlsMode;
import dev.inmesh.control.config.networking.Gateway.TlsProtocol;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.internal.xds.GatewayListenerParser;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The listeners and routes of a gateway, as istiod builds them for an ingress gateway: the Gateways
 * whose {@code selector} the gateway's labels match, one listener {@code 0.0.0.0_<port>} per server
 * port, and per listener filter chains that take their routes over RDS. Plaintext HTTP servers of a
 * port share the route configuration {@code http.<port>}; each TLS server has its own filter chain
 * (matched by SNI on the server's hosts) and route configuration
 * {@code https.<port>.<portName>.<gateway>.<namespace>}. A route configuration has a virtual host
 * per host that a bound VirtualService and the server's {@code hosts} share; {@code httpsRedirect}
 * is the virtual host's {@code require_tls: ALL}, as in istiod.
 *
 * <p>ISTIO_MUTUAL is mesh mTLS: the gateway's SPIFFE certificate and the mesh roots, sent as every
 * workload's inbound mTLS is (certificate provider instances), a client certificate required.
 * {@code credentialName} becomes the SDS secret {@code kubernetes://<credentialName>} (and, for
 * MUTUAL, {@code kubernetes://<credentialName>-cacert}), the names istiod uses; the gateway resolves
 * them to files of its own. What a gateway cannot enforce (other protocols, PASSTHROUGH, SANs,
 * protocol versions, cipher suites) leaves that server out, with a warning naming the field.
 */
final class GatewayTranslator {
  private static final Set<String> HTTP = Set.of("HTTP", "HTTP2", "GRPC");
  /** The TLS modes the gateway terminates itself. */
  private static final Set<TlsMode> TERMINATED = Set.of(TlsMode.SIMPLE, TlsMode.MUTUAL, TlsMode.ISTIO_MUTUAL);
  private static final String HCM = "envoy.filters.network.http_connection_manager";

  private final XdsTranslator.Warnings warnings;
  private final RouteBuilder routes;
  private final ClientProfile profile;
  private final List<HttpFilter> security;

  /** @param security the gateway's jwt_authn and RBAC filters, in order; every connection manager runs them before the router */
  GatewayTranslator(XdsTranslator.Warnings warnings, RouteBuilder routes, ClientProfile profile, List<HttpFilter> security) {
    this.warnings = warnings;
    this.routes = routes;
    this.profile = profile;
    this.security = List.copyOf(security);
  }

  /** {@code namespace/name} of a VirtualService's {@code gateways} entry, short names in the VirtualService's namespace. */
  static String bindingName(String entry, String virtualServiceNamespace) {
    return entry.contains("/") ? entry : virtualServiceNamespace + "/" + entry;
  }

  /** A server of a selected Gateway, and where it came from. */
  private record Bound(ConfigResource gateway, Server server, int index) {
    String field() {
      return "spec.servers[" + index + "]";
    }

    String gatewayKey() {
      return gateway.namespace() + "/" + gateway.name();
    }
  }

  void translate(MeshState state, List<Listener> listeners, List<RouteConfiguration> routeConfigs) {
    Map<Integer, List<Bound>> byPort = new TreeMap<>();
    List<ConfigResource> gateways = new ArrayList<>(state.ofKind(Gateway.class));
    gateways.sort(Comparator.comparing(ConfigResource::key));
    for (ConfigResource resource : gateways) {
      Gateway gateway = resource.spec(Gateway.class);
      if (!selects(gateway.selector())) {
        continue;
      }
      for (int i = 0; i < gateway.servers().size(); i++) {
        Bound bound = new Bound(resource, gateway.servers().get(i), i);
        if (servable(bound)) {
          byPort.computeIfAbsent(bound.server().port().number(), p -> new ArrayList<>()).add(bound);
        }
      }
    }
    List<ConfigResource> virtualServices = new ArrayList<>(state.ofKind(VirtualService.class));
    virtualServices.sort(Comparator.comparing(ConfigResource::key));
    byPort.forEach((port, servers) -> listener(port, servers, virtualServices, listeners, routeConfigs));
  }

  /** Istio's selection: every label of the selector on the gateway; an empty selector picks every gateway. */
  private boolean selects(Map<String, String> selector) {
    return selector.entrySet().stream().allMatch(e -> e.getValue().equals(profile.gatewayLabels().get(e.getKey())));
  }

  private boolean servable(Bound bound) {
    Server server = bound.server();
    String protocol = server.port().protocol().toUpperCase(Locale.ROOT);
    if (server.bind().isPresent()) {
      return skip(bound, ".bind", "the gateway serves every address of its host; a server bound to one is not served");
    }
    if (HTTP.contains(protocol)) {
      return true; // a plaintext server carries at most httpsRedirect, which the parser checked
    }
    if (!protocol.equals("HTTPS")) {
      return skip(bound, ".port.protocol", "protocol " + protocol + " is not served by mesh-gateway yet (HTTP, HTTP2,"
          + " GRPC and HTTPS are)");
    }
    ServerTls tls = server.tls().orElseThrow();
    if (!TERMINATED.contains(tls.mode())) {
      return skip(bound, ".tls.mode", "TLS mode " + tls.mode() + " is not served by mesh-gateway yet (SIMPLE, MUTUAL and"
          + " ISTIO_MUTUAL are)");
    }
    if (!tls.subjectAltNames().isEmpty() || !tls.verifyCertificateSpki().isEmpty() || !tls.verifyCertificateHash().isEmpty()
        || tls.caCrl().isPresent()) {
      return skip(bound, ".tls", "subjectAltNames, verifyCertificateSpki, verifyCertificateHash and caCrl are not"
          + " enforced by mesh-gateway yet");
    }
    if (tls.minProtocolVersion() != TlsProtocol.TLS_AUTO || tls.maxProtocolVersion() != TlsProtocol.TLS_AUTO
        || !tls.cipherSuites().isEmpty()) {
      return skip(bound, ".tls", "minProtocolVersion, maxProtocolVersion and cipherSuites are not enforced by"
          + " mesh-gateway yet");
    }
    if (tls.credentialNames().size() > 1 || tls.tlsCertificates().size() > 1) {
      return skip(bound, ".tls", "a server with several certificates is not served by mesh-gateway yet; use one"
          + " server per certificate");
    }
    return true;
  }

  private boolean skip(Bound bound, String field, String message) {
    warnings.add(bound.gateway(), bound.field() + field, message + "; this server is left out");
    return false;
  }

  private void listener(int port, List<Bound> servers, List<ConfigResource> virtualServices, List<Listener> listeners,
      List<RouteConfiguration> routeConfigs) {
    boolean tls = servers.get(0).server().tls().filter(t -> TERMINATED.contains(t.mode())).isPresent()
        && servers.get(0).server().port().protocol().equalsIgnoreCase("HTTPS");
    Listener.Builder listener = Listener.newBuilder()
        .setName(GatewayListenerParser.PREFIX + port)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port)));
    if (!tls) {
      String routeName = "http." + port;
      Map<String, VirtualHost.Builder> hosts = new LinkedHashMap<>();
      for (Bound bound : servers) {
        if (bound.server().port().protocol().equalsIgnoreCase("HTTPS")) {
          skip(bound, ".port", "port " + port + " already serves plaintext HTTP for " + servers.get(0).gatewayKey());
          continue;
        }
        virtualHosts(bound, port, virtualServices, hosts);
      }
      routeConfigs.add(routeConfig(routeName, hosts));
      listener.addFilterChains(FilterChain.newBuilder().addFilters(manager(routeName, security)));
      listeners.add(listener.build());
      return;
    }
    Set<String> names = new LinkedHashSet<>();
    for (Bound bound : servers) {
      if (!bound.server().port().protocol().equalsIgnoreCase("HTTPS")) {
        skip(bound, ".port", "port " + port + " already serves HTTPS for " + servers.get(0).gatewayKey());
        continue;
      }
      List<String> serverNames = serverNames(bound.server());
      List<String> clash = (serverNames.isEmpty() ? List.of("*") : serverNames).stream().filter(n -> !names.add(n)).toList();
      if (!clash.isEmpty()) {
        skip(bound, ".hosts", "hosts " + clash + " on port " + port + " are already served by another server");
        continue;
      }
      String routeName = "https." + port + "." + bound.server().port().name() + "." + bound.gateway().name() + "."
          + bound.gateway().namespace();
      Map<String, VirtualHost.Builder> hosts = new LinkedHashMap<>();
      virtualHosts(bound, port, virtualServices, hosts);
      routeConfigs.add(routeConfig(routeName, hosts));
      listener.addFilterChains(FilterChain.newBuilder()
          .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(serverNames))
          .setTransportSocket(TransportSocket.newBuilder()
              .setName("envoy.transport_sockets.tls")
              .setTypedConfig(Any.pack(downstreamTls(bound.server().tls().orElseThrow()))))
          .addFilters(manager(routeName, security)));
    }
    if (listener.getFilterChainsCount() > 0) {
      listeners.add(listener.build());
    }
  }

  /** The SNI names of a TLS server: its hosts without namespaces; none (every name) when one of them is {@code *}. */
  private static List<String> serverNames(Server server) {
    List<String> names = new ArrayList<>();
    for (String host : server.hosts()) {
      String dns = host.substring(host.indexOf('/') + 1);
      if (dns.equals("*")) {
        return List.of();
      }
      if (!names.contains(dns)) {
        names.add(dns);
      }
    }
    return names;
  }

  private static RouteConfiguration routeConfig(String name, Map<String, VirtualHost.Builder> hosts) {
    RouteConfiguration.Builder config = RouteConfiguration.newBuilder().setName(name);
    hosts.values().forEach(config::addVirtualHosts);
    return config.build();
  }

  /**
   * Adds, for each VirtualService bound to the server's Gateway, a virtual host per host it shares
   * with the server (the more specific of the two names), with the VirtualService's routes;
   * VirtualServices of the same host are merged in order, as istiod merges them.
   */
  private void virtualHosts(Bound bound, int port, List<ConfigResource> virtualServices, Map<String, VirtualHost.Builder> hosts) {
    boolean redirect = bound.server().tls().map(ServerTls::httpsRedirect).orElse(false);
    for (ConfigResource resource : virtualServices) {
      VirtualService vs = resource.spec(VirtualService.class);
      boolean binds = vs.gateways().stream().anyMatch(g -> bindingName(g, resource.namespace()).equals(bound.gatewayKey()));
      // exportTo governs gateways too: the gateway workload's namespace must see the VirtualService
      if (!binds || !MeshService.isExported(vs.exportTo(), resource.namespace(), profile.namespace())) {
        continue;
      }
      List<Route> vsRoutes = null;
      for (String vsHost : vs.hosts()) {
        for (String serverHost : bound.server().hosts()) {
          Optional<String> domain = sharedHost(serverHost, bound.gateway().namespace(), vsHost, resource);
          if (domain.isEmpty()) {
            continue;
          }
          if (vsRoutes == null) {
            vsRoutes = routes.fromGatewayVirtualService(resource, bound.gatewayKey(), port);
          }
          VirtualHost.Builder host = hosts.computeIfAbsent(domain.get(), d -> VirtualHost.newBuilder()
              .setName(d + ":" + port).addDomains(d));
          if (redirect) {
            host.setRequireTls(VirtualHost.TlsRequirementType.ALL);
          }
          if (!host.getRoutesList().containsAll(vsRoutes)) {
            host.addAllRoutes(vsRoutes);
          }
        }
      }
    }
  }

  /**
   * The host a server host ({@code [namespace/]dnsName}) and a VirtualService host share, if the
   * server admits the VirtualService's namespace: the more specific of the two.
   */
  private static Optional<String> sharedHost(String serverHost, String gatewayNamespace, String vsHost, ConfigResource vs) {
    int slash = serverHost.indexOf('/');
    String namespace = slash < 0 ? "*" : serverHost.substring(0, slash);
    String dns = serverHost.substring(slash + 1).toLowerCase(Locale.ROOT);
    if (namespace.equals(".")) {
      namespace = gatewayNamespace;
    }
    if (!namespace.equals("*") && !namespace.equals(vs.namespace())) {
      return Optional.empty();
    }
    String host = Hosts.resolve(vsHost, vs.namespace()).toLowerCase(Locale.ROOT);
    if (dns.equals(host)) {
      return Optional.of(host);
    }
    if (Hosts.wildcardMatches(dns, host)) {
      return Optional.of(host);
    }
    if (Hosts.wildcardMatches(host, dns)) {
      return Optional.of(dns);
    }
    return Optional.empty();
  }

  private static Filter.Builder manager(String routeName, List<HttpFilter> security) {
    HttpConnectionManager manager = HttpConnectionManager.newBuilder()
        .setStatPrefix("outbound_" + routeName)
        .setRds(Rds.newBuilder().setConfigSource(XdsTranslator.ADS).setRouteConfigName(routeName))
        // end-user authentication, then authorization, before anything else touches the request (istiod's order)
        .addAllHttpFilters(security)
        .addHttpFilters(HttpFilter.newBuilder().setName(XdsTranslator.FAULT_FILTER)
            .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())))
        .addHttpFilters(HttpFilter.newBuilder().setName(XdsTranslator.ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Filter.newBuilder().setName(HCM).setTypedConfig(Any.pack(manager));
  }

  private static DownstreamTlsContext downstreamTls(ServerTls tls) {
    if (tls.mode() == TlsMode.ISTIO_MUTUAL) {
      // the mesh's own certificate and roots, in the shape every workload's inbound mTLS takes
      DownstreamTlsContext mesh = TransportSockets.meshServerTls();
      return mesh.toBuilder().setCommonTlsContext(mesh.getCommonTlsContext().toBuilder()
          .addAlpnProtocols("h2").addAlpnProtocols("http/1.1")).build();
    }
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder().addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
    Optional<String> credential = tls.credentialName().or(() -> tls.credentialNames().stream().findFirst());
    if (credential.isPresent()) {
      common.addTlsCertificateSdsSecretConfigs(sds(GatewayListenerParser.CREDENTIAL_PREFIX + credential.get()));
      if (tls.mode() == TlsMode.MUTUAL) {
        common.setValidationContextSdsSecretConfig(
            sds(GatewayListenerParser.CREDENTIAL_PREFIX + credential.get() + GatewayListenerParser.CA_SUFFIX));
      }
    } else {
      Optional<String> certificate = tls.serverCertificate();
      Optional<String> key = tls.privateKey();
      Optional<String> ca = tls.caCertificates();
      if (!tls.tlsCertificates().isEmpty()) {
        certificate = tls.tlsCertificates().get(0).serverCertificate();
        key = tls.tlsCertificates().get(0).privateKey();
        ca = ca.or(() -> tls.tlsCertificates().get(0).caCertificates());
      }
      common.addTlsCertificates(TlsCertificate.newBuilder()
          .setCertificateChain(DataSource.newBuilder().setFilename(certificate.orElseThrow()))
          .setPrivateKey(DataSource.newBuilder().setFilename(key.orElseThrow())));
      if (tls.mode() == TlsMode.MUTUAL) {
        common.setValidationContext(CertificateValidationContext.newBuilder()
            .setTrustedCa(DataSource.newBuilder().setFilename(ca.orElseThrow())));
      }
    }
    return DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(common)
        .setRequireClientCertificate(BoolValue.of(tls.mode() == TlsMode.MUTUAL))
        .build();
  }

  private static SdsSecretConfig sds(String name) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(XdsTranslator.ADS).build();
  }
}
