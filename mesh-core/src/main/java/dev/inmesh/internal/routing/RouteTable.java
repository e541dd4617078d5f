package dev.inmesh.internal.routing;

import dev.inmesh.spi.RequestView;
import java.util.List;
import java.util.Optional;

/** A route configuration (RDS): virtual hosts chosen by the authority the caller dialled. */
public record RouteTable(String name, List<VirtualHost> virtualHosts) {
  public RouteTable {
    virtualHosts = List.copyOf(virtualHosts);
  }

  public Optional<VirtualHost> virtualHost(String authority) {
    VirtualHost best = null;
    int bestRank = Integer.MAX_VALUE;
    for (VirtualHost host : virtualHosts) {
      int rank = host.matchRank(authority);
      if (rank < bestRank) {
        best = host;
        bestRank = rank;
      }
    }
    return Optional.ofNullable(best);
  }

  /** The first route of the virtual host that matches, with the host it came from. */
  public Optional<Matched> route(String authority, RequestView request) {
    Optional<VirtualHost> host = virtualHost(authority);
    if (host.isEmpty()) {
      return Optional.empty();
    }
    return host.get().firstMatch(request).map(route -> new Matched(host.get(), route));
  }

  public record Matched(VirtualHost virtualHost, Route route) {}
}
