package dev.inmesh;

import dev.inmesh.model.ListenerConfig;
import dev.inmesh.outbound.ClusterRuntime;
import dev.inmesh.outbound.ClusterRuntimes;
import dev.inmesh.routing.RouteTable;
import dev.inmesh.xds.XdsResources;
import java.util.Map;
import java.util.Optional;

/**
 * The mesh config in force: accepted xDS resources and the runtime of every cluster. Immutable
 * apart from the clusters' live counters; the xDS thread swaps in a new one atomically and the
 * request path only reads.
 */
public final class MeshSnapshot {
  private final XdsResources resources;
  private final Map<String, ClusterRuntime> clusters;
  private final ClusterRuntimes runtimes;

  private MeshSnapshot(XdsResources resources, Map<String, ClusterRuntime> clusters, ClusterRuntimes runtimes) {
    this.resources = resources;
    this.clusters = clusters;
    this.runtimes = runtimes;
  }

  static MeshSnapshot empty(ClusterRuntimes runtimes) {
    return new MeshSnapshot(XdsResources.EMPTY, Map.of(), runtimes);
  }

  MeshSnapshot next(XdsResources next) {
    return new MeshSnapshot(next, runtimes.update(next), runtimes);
  }

  /** True once a complete config (listeners, routes, clusters and endpoints they name) arrived. */
  public boolean isReady() {
    return resources.complete();
  }

  public XdsResources resources() {
    return resources;
  }

  /**
   * The listener for what the caller dialled: {@code host:port}, or {@code host} alone for the
   * scheme's default port, as proxyless gRPC names them.
   */
  public Optional<ListenerConfig> listener(String host, int port, int defaultPort) {
    ListenerConfig listener = resources.listeners().get(host + ":" + port);
    if (listener == null && port == defaultPort) {
      listener = resources.listeners().get(host);
    }
    return Optional.ofNullable(listener);
  }

  public Optional<RouteTable> routeTable(ListenerConfig listener) {
    return resources.routeTable(listener);
  }

  public Optional<ClusterRuntime> cluster(String name) {
    return Optional.ofNullable(clusters.get(name));
  }
}
