package dev.inmesh.control.translate;

import com.google.protobuf.Any;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.config.security.PeerAuthentication.Mode;
import dev.inmesh.control.config.security.RequestAuthentication;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.translate.authz.AuthorizationConfig;
import dev.inmesh.control.translate.authz.AuthorizationFilters;
import dev.inmesh.control.translate.authn.JwksResolver;
import dev.inmesh.control.translate.authn.RequestAuthnTranslator;
import dev.inmesh.control.translate.authz.AuthorizationTranslator;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.NonForwardingAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Inbound listeners for the workloads of a namespace, in the shape proxyless gRPC servers take
 * (gRFC A36): one per address a server may bind ({@code grpc/server?xds.resource.listening_address=
 * <ip>:<port>}, also for 0.0.0.0 and [::]), with an inline route that only accepts the request
 * (non_forwarding_action), the JWT filter that the workload's RequestAuthentications make (Inmesh's
 * servers only: grpc-java has none) and the RBAC filters that its AuthorizationPolicies make for
 * the clients' RBAC engine (proxyless gRPC's or Inmesh's).
 * Servers bound to all interfaces share one name per port within a namespace; when two workloads
 * of a namespace listen on the same port with different policies the first wins and a warning
 * says so.
 *
 * <p>The filter chains carry the port's PeerAuthentication mode in Envoy's shape: STRICT is one
 * chain with a {@link TransportSockets#downstream() DownstreamTlsContext} that requires a client
 * certificate; DISABLE is one plaintext chain; PERMISSIVE is a TLS chain matching
 * {@code transport_protocol: tls} and a plaintext chain matching {@code raw_buffer}. Proxyless
 * gRPC cannot match on {@code tls} (gRFC A36), so its clients get PERMISSIVE as plaintext, as
 * Istio sends it to them.
 */
final class InboundListeners {
  static final String TEMPLATE = "grpc/server?xds.resource.listening_address=";
  private static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
  static final String TLS_PROTOCOL = "tls";
  static final String PLAINTEXT_PROTOCOL = "raw_buffer";

  private InboundListeners() {}

  static List<Listener> build(MeshState state, ClientProfile profile, String trustDomain, List<String> trustDomainAliases,
      JwksResolver jwks, XdsTranslator.Warnings warnings) {
    String namespace = profile.namespace();
    PeerAuthentications peerAuthentications = PeerAuthentications.of(state);
    List<ConfigResource> policies = state.ofKind(AuthorizationPolicy.class);
    List<ConfigResource> authentications = state.ofKind(RequestAuthentication.class);
    RequestAuthnTranslator authn = new RequestAuthnTranslator(jwks);
    RequestAuthnTranslator.notEnforced(authentications).forEach(w -> authentications.stream()
        .filter(p -> p.key().toString().equals(w.resource())).findFirst()
        .ifPresent(p -> warnings.add(p, w.field(), w.message())));
    // what the servers of this profile cannot evaluate is translated fail-closed
    AuthorizationTranslator authz = AuthorizationTranslator.of(AuthorizationConfig.of(
        trustDomain, trustDomainAliases,
        profile.proxylessGrpc() ? AuthorizationConfig.DataPlane.PROXYLESS_GRPC : AuthorizationConfig.DataPlane.INMESH));
    Map<String, Listener> listeners = new LinkedHashMap<>();
    Map<String, String> owners = new LinkedHashMap<>();
    for (Workload workload : state.workloads()) {
      WorkloadMetadata meta = workload.metadata();
      if (!meta.namespace().equals(namespace)) {
        continue;
      }
      List<ConfigResource> applying = policies.stream()
          .filter(p -> AuthorizationTranslator.appliesTo(p, meta.namespace(), meta.labels(), AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE))
          .toList();
      AuthorizationFilters filters = authz.translate(applying);
      filters.warnings().forEach(w -> applying.stream().filter(p -> p.key().toString().equals(w.resource())).findFirst()
          .ifPresent(p -> warnings.add(p, w.field(), w.message())));
      List<ConfigResource> authenticating = authentications.stream()
          .filter(p -> RequestAuthnTranslator.appliesTo(p, meta.namespace(), meta.labels()))
          .toList();
      Optional<HttpFilter> jwt = Optional.empty();
      if (profile.proxylessGrpc()) {
        // grpc-java has no JWT filter: its servers would NACK one, so they get none and JWT conditions fail closed
        authenticating.forEach(p -> warnings.add(p, "spec.jwtRules", "not enforced on proxyless gRPC servers"
            + " (grpc-java has no JWT filter): tokens are not checked there, and AuthorizationPolicy rules on request"
            + " principals or request.auth.* match no request; serve gRPC through MeshGrpc's door to enforce it"));
      } else {
        RequestAuthnTranslator.Result authnResult = authn.translate(authenticating);
        authnResult.warnings().forEach(w -> authenticating.stream().filter(p -> p.key().toString().equals(w.resource()))
            .findFirst().ifPresent(p -> warnings.add(p, w.field(), w.message())));
        jwt = authnResult.filter();
      }
      for (ServicePort port : meta.ports()) {
        Mode mode = peerAuthentications.mode(namespace, meta.labels(), port.targetPort());
        if (mode == Mode.PERMISSIVE && profile.proxylessGrpc()) {
          peerAuthentications.decidingPolicy(namespace, meta.labels())
              .filter(p -> port.protocol().equalsIgnoreCase("GRPC"))
              .ifPresent(p -> warnings.add(p, "mtls",
              "proxyless gRPC servers cannot tell TLS from plaintext on one port; under PERMISSIVE they accept"
                  + " plaintext only (as with Istio); use STRICT for mutual TLS"));
          mode = Mode.DISABLE;
        }
        for (String address : List.of(meta.address(), "0.0.0.0", "[::]")) {
          String name = TEMPLATE + address + ":" + port.targetPort();
          Listener listener = listener(name, address, port.targetPort(), jwt, filters, mode);
          Listener previous = listeners.putIfAbsent(name, listener);
          if (previous != null && !previous.equals(listener)) {
            applying.stream().findFirst().ifPresent(p -> warnings.add(p, "inbound listener " + name + " is shared with "
                + owners.get(name) + ", which has other policies; its policies are the ones in force"));
          }
          owners.putIfAbsent(name, workload.nodeId());
        }
      }
    }
    return List.copyOf(listeners.values());
  }

  /**
   * The end-user authentication and authorization filters of a gateway, in the order they run: the
   * {@code jwt_authn} filter of the RequestAuthentications that select the gateway's labels in its
   * namespace (or the root namespace), then the RBAC filters of the AuthorizationPolicies that select
   * it, as istiod gives an ingress gateway selected by {@code selector}.
   */
  static List<HttpFilter> gatewayFilters(MeshState state, ClientProfile profile, String trustDomain,
      List<String> trustDomainAliases, JwksResolver jwks, XdsTranslator.Warnings warnings) {
    String namespace = profile.namespace();
    Map<String, String> labels = profile.gatewayLabels();
    List<ConfigResource> applying = state.ofKind(AuthorizationPolicy.class).stream()
        .filter(p -> AuthorizationTranslator.appliesTo(p, namespace, labels, AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE))
        .toList();
    AuthorizationFilters authz = AuthorizationTranslator.of(AuthorizationConfig.of(trustDomain, trustDomainAliases,
        AuthorizationConfig.DataPlane.INMESH)).translate(applying);
    authz.warnings().forEach(w -> applying.stream().filter(p -> p.key().toString().equals(w.resource())).findFirst()
        .ifPresent(p -> warnings.add(p, w.field(), w.message())));
    List<ConfigResource> authenticating = state.ofKind(RequestAuthentication.class).stream()
        .filter(p -> RequestAuthnTranslator.appliesTo(p, namespace, labels))
        .toList();
    RequestAuthnTranslator.Result authn = new RequestAuthnTranslator(jwks).translate(authenticating);
    authn.warnings().forEach(w -> authenticating.stream().filter(p -> p.key().toString().equals(w.resource()))
        .findFirst().ifPresent(p -> warnings.add(p, w.field(), w.message())));
    List<HttpFilter> filters = new ArrayList<>();
    authn.filter().ifPresent(filters::add);
    filters.addAll(authz.httpFilters());
    return List.copyOf(filters);
  }

  private static Listener listener(String name, String address, int port, Optional<HttpFilter> jwt,
      AuthorizationFilters authz, Mode mode) {
    RouteConfiguration routes = RouteConfiguration.newBuilder()
        .setName("inbound|" + port)
        .addVirtualHosts(VirtualHost.newBuilder()
            .setName("inbound|" + port)
            .addDomains("*")
            .addRoutes(Route.newBuilder()
                .setName("default")
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setNonForwardingAction(NonForwardingAction.getDefaultInstance())))
        .build();
    HttpConnectionManager.Builder manager = HttpConnectionManager.newBuilder()
        .setStatPrefix("inbound_" + port)
        .setRouteConfig(routes);
    // end-user authentication first, so that authorization sees the verified claims (istiod's order)
    jwt.ifPresent(manager::addHttpFilters);
    manager.addAllHttpFilters(authz.httpFilters())
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(XdsTranslator.ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())));
    Filter connectionManager = Filter.newBuilder()
        .setName(HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(manager.build()))
        .build();
    String host = address.startsWith("[") ? address.substring(1, address.length() - 1) : address;
    Listener.Builder listener = Listener.newBuilder()
        .setName(name)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port)));
    switch (mode) {
      case STRICT -> listener.addFilterChains(FilterChain.newBuilder()
          .setName("inbound|" + port + "|mtls")
          .setTransportSocket(TransportSockets.downstream())
          .addFilters(connectionManager));
      case PERMISSIVE -> listener
          .addFilterChains(FilterChain.newBuilder()
              .setName("inbound|" + port + "|mtls")
              .setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol(TLS_PROTOCOL))
              .setTransportSocket(TransportSockets.downstream())
              .addFilters(connectionManager))
          .addFilterChains(FilterChain.newBuilder()
              .setName("inbound|" + port + "|plaintext")
              .setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol(PLAINTEXT_PROTOCOL))
              .addFilters(connectionManager));
      default -> listener.addFilterChains(FilterChain.newBuilder()
          .setName("inbound|" + port + "|plaintext")
          .addFilters(connectionManager));
    }
    return listener.build();
  }
}
