package dev.inmesh.internal.routing;

import dev.inmesh.spi.RequestView;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A set of domains and their ordered routes; the first route that matches wins. The routes are
 * indexed by path ({@link RoutePathIndex}) so that finding the first match does not test them all.
 */
public final class VirtualHost {
  private final String name;
  private final List<String> domains;
  private final List<Route> routes;
  private final RoutePathIndex index;
  private final TlsRequirement tlsRequirement;

  /**
   * Envoy's {@code require_tls}: with {@code ALL} (Istio's {@code httpsRedirect}), a request that
   * did not come over TLS gets a 301 to the same URL with {@code https}.
   */
  public enum TlsRequirement { NONE, ALL }

  public VirtualHost(String name, List<String> domains, List<Route> routes) {
    this(name, domains, routes, TlsRequirement.NONE);
  }

  public VirtualHost(String name, List<String> domains, List<Route> routes, TlsRequirement tlsRequirement) {
    this.name = Objects.requireNonNull(name, "name");
    this.domains = List.copyOf(domains);
    this.routes = List.copyOf(routes);
    this.index = RoutePathIndex.of(this.routes);
    this.tlsRequirement = Objects.requireNonNull(tlsRequirement, "tlsRequirement");
  }

  public TlsRequirement tlsRequirement() {
    return tlsRequirement;
  }

  public String name() {
    return name;
  }

  public List<String> domains() {
    return domains;
  }

  public List<Route> routes() {
    return routes;
  }

  /** The first route that matches, as testing them in order would find it. */
  public Optional<Route> firstMatch(RequestView request) {
    int found = index.first(request);
    return found < 0 ? Optional.empty() : Optional.of(routes.get(found));
  }

  /** Envoy's domain matching: exact, then {@code *.suffix}, then {@code prefix*}, then {@code *}. */
  int matchRank(String authority) {
    int best = Integer.MAX_VALUE;
    for (String domain : domains) {
      if (domain.equalsIgnoreCase(authority)) {
        return 0;
      }
      if (domain.equals("*")) {
        best = Math.min(best, 3);
      } else if (domain.startsWith("*") && authority.toLowerCase(Locale.ROOT).endsWith(domain.substring(1).toLowerCase(Locale.ROOT))) {
        best = Math.min(best, 1);
      } else if (domain.endsWith("*") && authority.toLowerCase(Locale.ROOT).startsWith(domain.substring(0, domain.length() - 1).toLowerCase(Locale.ROOT))) {
        best = Math.min(best, 2);
      }
    }
    return best;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof VirtualHost host && name.equals(host.name) && domains.equals(host.domains)
        && routes.equals(host.routes) && tlsRequirement == host.tlsRequirement;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, domains, routes, tlsRequirement);
  }

  @Override
  public String toString() {
    return "VirtualHost[name=" + name + ", domains=" + domains + ", routes=" + routes + (tlsRequirement == TlsRequirement.NONE ? "" : ", requireTls=" + tlsRequirement) + "]";
  }
}
