package dev.inmesh.internal.xds;

import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.routing.RouteTable;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything the ADS client has accepted, immutable; a new one replaces the old atomically. It
 * survives a lost control plane and NACKed updates: only accepted resources ever land here.
 * {@code inbound} holds the server listeners of this workload's own addresses, by name.
 */
public record XdsResources(
    Map<String, ListenerConfig> listeners,
    Map<String, InboundPolicy> inbound,
    Map<String, RouteTable> routes,
    Map<String, ClusterConfig> clusters,
    Map<String, List<Endpoint>> endpoints,
    Map<String, String> versions,
    Map<String, String> lastNacks,
    boolean complete) {

  public static final XdsResources EMPTY = new XdsResources(Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), false);

  public XdsResources {
    listeners = Map.copyOf(listeners);
    inbound = Map.copyOf(inbound);
    routes = Map.copyOf(routes);
    clusters = Map.copyOf(clusters);
    endpoints = Map.copyOf(endpoints);
    versions = Map.copyOf(versions);
    lastNacks = Map.copyOf(lastNacks);
  }

  /**
   * The listener for what the caller dialled: {@code host:port}, or {@code host} alone for the
   * scheme's default port, as proxyless gRPC names them.
   */
  public Optional<ListenerConfig> listener(String host, int port, int defaultPort) {
    ListenerConfig listener = listeners.get(host + ":" + port);
    if (listener == null && port == defaultPort) {
      listener = listeners.get(host);
    }
    return Optional.ofNullable(listener);
  }

  /** The route table a listener uses, inline or by RDS name. */
  public Optional<RouteTable> routeTable(ListenerConfig listener) {
    return listener.inlineRoutes().or(() -> Optional.ofNullable(routes.get(listener.routeConfigName())));
  }
}
