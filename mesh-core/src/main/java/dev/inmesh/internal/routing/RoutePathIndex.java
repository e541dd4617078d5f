package dev.inmesh.internal.routing;

import dev.inmesh.spi.RequestView;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the first matching route of a virtual host without testing every route. Routes keep
 * Envoy's first-match order; the index only rules out the routes whose path matcher cannot take
 * the request's path, so the answer is exactly that of a scan in order.
 *
 * <p>A case-sensitive {@code prefix} or {@code path} (exact) matcher is indexed by its literal;
 * every other route (regex, suffix, case-insensitive, an empty prefix) is a candidate for every
 * request. A request computes the hash of each leading part of its path as it walks it once
 * ({@link String#hashCode()}'s polynomial, so it equals the prefixes' own hashes), looks the
 * lengths that some prefix has up in a table, and ORs the bit sets of the prefixes that match into
 * its candidates. It then tests only the candidates, in route order. The cost grows with the
 * path's length and the candidates, not with the number of routes: the last of 1,000 prefix
 * routes is found as fast as the first.
 */
final class RoutePathIndex {
  private final List<Route> routes;
  private final int words;
  private final long[] always;
  private final Map<String, long[]> exact;
  /** Open addressing by hash: prefix literals and their route bit sets, {@code null} where empty. */
  private final String[] prefixes;
  private final long[][] prefixRoutes;
  private final int mask;
  /** {@code hasLength[n]}: some indexed prefix is {@code n} characters long. */
  private final boolean[] hasLength;

  private RoutePathIndex(List<Route> routes) {
    this.routes = routes;
    this.words = (routes.size() + 63) / 64;
    this.always = new long[words];
    Map<String, long[]> exactRoutes = new HashMap<>();
    Map<String, long[]> prefixRouteSets = new HashMap<>();
    int longest = 0;
    for (int i = 0; i < routes.size(); i++) {
      StringMatcher path = routes.get(i).match().path();
      if (path instanceof StringMatcher.Prefix prefix && !prefix.ignoreCase() && !prefix.value().isEmpty()) {
        set(prefixRouteSets.computeIfAbsent(prefix.value(), p -> new long[words]), i);
        longest = Math.max(longest, prefix.value().length());
      } else if (path instanceof StringMatcher.Exact exactPath && !exactPath.ignoreCase()) {
        set(exactRoutes.computeIfAbsent(exactPath.value(), p -> new long[words]), i);
      } else {
        set(always, i);
      }
    }
    this.exact = Map.copyOf(exactRoutes);
    int capacity = Integer.highestOneBit(Math.max(1, prefixRouteSets.size()) * 2 - 1) * 2;
    this.mask = capacity - 1;
    this.prefixes = new String[capacity];
    this.prefixRoutes = new long[capacity][];
    this.hasLength = new boolean[longest + 1];
    prefixRouteSets.forEach((prefix, set) -> {
      int slot = spread(prefix.hashCode()) & mask;
      while (prefixes[slot] != null) {
        slot = (slot + 1) & mask;
      }
      prefixes[slot] = prefix;
      prefixRoutes[slot] = set;
      hasLength[prefix.length()] = true;
    });
  }

  static RoutePathIndex of(List<Route> routes) {
    return new RoutePathIndex(routes);
  }

  /** The first route that matches {@code request}, or -1. */
  int first(RequestView request) {
    String path = request.path();
    long[] candidates = always.clone();
    long[] exactRoutes = exact.get(path);
    if (exactRoutes != null) {
      or(candidates, exactRoutes);
    }
    int limit = Math.min(path.length(), hasLength.length - 1);
    int hash = 0;
    for (int length = 1; length <= limit; length++) {
      hash = 31 * hash + path.charAt(length - 1);
      if (hasLength[length]) {
        for (int slot = spread(hash) & mask; prefixes[slot] != null; slot = (slot + 1) & mask) {
          String prefix = prefixes[slot];
          if (prefix.length() == length && prefix.hashCode() == hash && path.startsWith(prefix)) {
            or(candidates, prefixRoutes[slot]);
            break;
          }
        }
      }
    }
    for (int word = 0; word < words; word++) {
      for (long bits = candidates[word]; bits != 0; bits &= bits - 1) {
        int route = word * 64 + Long.numberOfTrailingZeros(bits);
        if (routes.get(route).match().matches(request)) {
          return route;
        }
      }
    }
    return -1;
  }

  private static void set(long[] bits, int index) {
    bits[index >>> 6] |= 1L << (index & 63);
  }

  private static void or(long[] into, long[] bits) {
    for (int i = 0; i < into.length; i++) {
      into[i] |= bits[i];
    }
  }

  private static int spread(int hash) {
    return hash ^ (hash >>> 16);
  }
}
