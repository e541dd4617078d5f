package dev.inmesh.control.translate;

import com.google.protobuf.Any;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.translate.authz.AuthorizationConfig;
import dev.inmesh.control.translate.authz.AuthorizationFilters;
import dev.inmesh.control.translate.authz.AuthorizationTranslator;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.model.ServicePort;
import dev.inmesh.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.NonForwardingAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Inbound listeners for the workloads of a namespace, in the shape proxyless gRPC servers take
 * (gRFC A36): one per address a server may bind ({@code grpc/server?xds.resource.listening_address=
 * <ip>:<port>}, also for 0.0.0.0 and [::]), with an inline route that only accepts the request
 * (non_forwarding_action) and the RBAC filters that the workload's AuthorizationPolicies make.
 * Servers bound to all interfaces share one name per port within a namespace; when two workloads
 * of a namespace listen on the same port with different policies the first wins and a warning
 * says so. Plaintext only for now: PeerAuthentication STRICT arrives with the identity work.
 */
final class InboundListeners {
  static final String TEMPLATE = "grpc/server?xds.resource.listening_address=";
  private static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";

  private InboundListeners() {}

  static List<Listener> build(MeshState state, String namespace, XdsTranslator.Warnings warnings) {
    List<ConfigResource> policies = state.ofKind(AuthorizationPolicy.class);
    AuthorizationTranslator authz = AuthorizationTranslator.of(AuthorizationConfig.defaults());
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
      for (ServicePort port : meta.ports()) {
        for (String address : List.of(meta.address(), "0.0.0.0", "[::]")) {
          String name = TEMPLATE + address + ":" + port.targetPort();
          Listener listener = listener(name, address, port.targetPort(), filters);
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

  private static Listener listener(String name, String address, int port, AuthorizationFilters authz) {
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
        .setRouteConfig(routes)
        .addAllHttpFilters(authz.httpFilters())
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(XdsTranslator.ROUTER_FILTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())));
    String host = address.startsWith("[") ? address.substring(1, address.length() - 1) : address;
    return Listener.newBuilder()
        .setName(name)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port)))
        .addFilterChains(FilterChain.newBuilder()
            .setName("inbound|" + port)
            .addFilters(Filter.newBuilder()
                .setName(HTTP_CONNECTION_MANAGER)
                .setTypedConfig(Any.pack(manager.build()))))
        .build();
  }
}
