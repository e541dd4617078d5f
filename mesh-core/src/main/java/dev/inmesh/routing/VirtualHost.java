package dev.inmesh.routing;

import java.util.List;

/** A set of domains and their ordered routes; the first route that matches wins. */
public record VirtualHost(String name, List<String> domains, List<Route> routes) {
  public VirtualHost {
    domains = List.copyOf(domains);
    routes = List.copyOf(routes);
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
      } else if (domain.startsWith("*") && authority.toLowerCase(java.util.Locale.ROOT).endsWith(domain.substring(1).toLowerCase(java.util.Locale.ROOT))) {
        best = Math.min(best, 1);
      } else if (domain.endsWith("*") && authority.toLowerCase(java.util.Locale.ROOT).startsWith(domain.substring(0, domain.length() - 1).toLowerCase(java.util.Locale.ROOT))) {
        best = Math.min(best, 2);
      }
    }
    return best;
  }
}
