package dev.inmesh.internal.xds;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.VirtualHost;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a client keeps of its config while a control server it has just reconnected to may not
 * yet know the whole mesh: a control server that restarted serves its first clients before every
 * workload has reconnected and registered again, so its first answers can lack services that are
 * still there. For a while after a reconnect, an update may add and change, but what it would
 * remove stays: listeners, clusters, virtual hosts and server listeners it drops, and endpoint sets
 * it empties. When the while is over the client takes the server's config as it is then; a removal
 * the config really made takes effect at that point.
 *
 * <p>Pure: {@link #merge} takes what is in force and what was received and returns what goes in
 * force, and names what it kept.
 */
final class ReconnectHold {
  private ReconnectHold() {
  }

  /** What goes in force, and the names of what was kept although the server no longer sends it. */
  record Merged(XdsResources resources, List<String> kept) {}

  static Merged merge(XdsResources inForce, XdsResources received) {
    List<String> kept = new ArrayList<>();
    Map<String, dev.inmesh.internal.model.ListenerConfig> listeners = keepRemoved(inForce.listeners(), received.listeners(), "listener", kept);
    Map<String, dev.inmesh.inbound.InboundPolicy> inbound = keepRemoved(inForce.inbound(), received.inbound(), "server listener", kept);
    Map<String, dev.inmesh.internal.model.ClusterConfig> clusters = keepRemoved(inForce.clusters(), received.clusters(), "cluster", kept);
    Map<String, RouteTable> routes = new LinkedHashMap<>(keepRemoved(inForce.routes(), received.routes(), "route table", kept));
    received.routes().forEach((name, table) -> {
      RouteTable old = inForce.routes().get(name);
      if (old != null) {
        routes.put(name, keepVirtualHosts(old, table, kept));
      }
    });
    Map<String, List<Endpoint>> endpoints = new LinkedHashMap<>(keepRemoved(inForce.endpoints(), received.endpoints(), "endpoints", kept));
    received.endpoints().forEach((name, list) -> {
      List<Endpoint> old = inForce.endpoints().get(name);
      if (list.isEmpty() && old != null && !old.isEmpty()) {
        endpoints.put(name, old);
        kept.add("endpoints " + name);
      }
    });
    XdsResources merged = new XdsResources(listeners, inbound, routes, clusters, endpoints, received.versions(),
        received.lastNacks(), received.complete() || inForce.complete());
    return new Merged(merged, List.copyOf(kept));
  }

  /** {@code received}, plus what {@code inForce} has under names {@code received} lacks. */
  private static <V> Map<String, V> keepRemoved(Map<String, V> inForce, Map<String, V> received, String kind,
      List<String> kept) {
    Map<String, V> result = new LinkedHashMap<>(received);
    inForce.forEach((name, value) -> {
      if (!received.containsKey(name)) {
        result.put(name, value);
        kept.add(kind + " " + name);
      }
    });
    return result;
  }

  /**
   * The received table, plus the old table's virtual hosts it dropped, where none of their domains
   * has gone to another virtual host meanwhile (that is a move, not a removal).
   */
  private static RouteTable keepVirtualHosts(RouteTable old, RouteTable received, List<String> kept) {
    Set<String> names = new HashSet<>();
    Set<String> domains = new HashSet<>();
    received.virtualHosts().forEach(host -> {
      names.add(host.name());
      domains.addAll(host.domains());
    });
    List<VirtualHost> hosts = new ArrayList<>(received.virtualHosts());
    for (VirtualHost host : old.virtualHosts()) {
      if (!names.contains(host.name()) && host.domains().stream().noneMatch(domains::contains)) {
        hosts.add(host);
        kept.add("virtual host " + host.name() + " of " + received.name());
      }
    }
    return hosts.size() == received.virtualHosts().size() ? received : new RouteTable(received.name(), hosts);
  }
}
