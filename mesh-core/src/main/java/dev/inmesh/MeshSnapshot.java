package dev.inmesh;

import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.outbound.ClusterRuntime;
import dev.inmesh.internal.outbound.ClusterRuntimes;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.xds.XdsResources;
import java.util.Map;
import java.util.Optional;

/**
 * The mesh config in force: accepted xDS resources and the runtime of every cluster. Immutable
 * apart from the clusters' live counters; the xDS thread swaps in a new one atomically and the
 * request path only reads.
 */
public final class MeshSnapshot {
  private static final String INBOUND_PREFIX = "grpc/server?xds.resource.listening_address=";
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
    return resources.listener(host, port, defaultPort);
  }

  /**
   * The policy of an inbound port: the server listener for {@code address:port}, else the one for
   * all interfaces (0.0.0.0, then [::]). Empty until mesh-control has sent one.
   */
  public Optional<InboundPolicy> inbound(String address, int port) {
    for (String host : new String[] {address, "0.0.0.0", "[::]"}) {
      InboundPolicy policy = resources.inbound().get(INBOUND_PREFIX + host + ":" + port);
      if (policy != null) {
        return Optional.of(policy);
      }
    }
    return Optional.empty();
  }

  public Optional<RouteTable> routeTable(ListenerConfig listener) {
    return resources.routeTable(listener);
  }

  /** Every cluster's runtime, for load reports. */
  public java.util.Collection<ClusterRuntime> clusters() {
    return clusters.values();
  }

  public Optional<ClusterRuntime> cluster(String name) {
    return Optional.ofNullable(clusters.get(name));
  }
}
