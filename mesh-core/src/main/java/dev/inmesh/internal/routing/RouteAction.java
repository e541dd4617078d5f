package dev.inmesh.internal.routing;

import dev.inmesh.internal.resilience.FaultConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** What a route does: forward to clusters, redirect, or answer directly. */
public sealed interface RouteAction {
  /** Request header changes a route or a weighted cluster applies. */
  HeaderMutations headers();

  record Forward(
      List<WeightedCluster> clusters,
      Duration timeout,
      Optional<RetryPolicy> retry,
      Optional<FaultConfig> fault,
      Optional<Rewrite> rewrite,
      HeaderMutations headers,
      HeaderMutations responseHeaders,
      List<Mirror> mirrors,
      List<HashPolicy> hashPolicies) implements RouteAction {
    public Forward {
      clusters = List.copyOf(clusters);
      mirrors = List.copyOf(mirrors);
      hashPolicies = List.copyOf(hashPolicies);
      if (clusters.isEmpty()) {
        throw new IllegalArgumentException("a forwarding route needs at least one cluster");
      }
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
      }
    }

    public int totalWeight() {
      int total = 0;
      for (WeightedCluster cluster : clusters) {
        total += cluster.weight();
      }
      return total;
    }
  }

  /**
   * A redirect: each part that is set replaces the request's, as Envoy builds the Location; the
   * rest comes from the request, so the Location is always absolute. The request's query string
   * is kept, unless the new path carries one of its own (Envoy's {@code path_redirect}).
   */
  record Redirect(Optional<String> scheme, Optional<String> host, Optional<Integer> port, Optional<String> path,
      int status, HeaderMutations headers) implements RouteAction {

    public String location(String requestScheme, String requestHost, int requestPort, String requestPath,
        Optional<String> requestQuery) {
      String newScheme = scheme.orElse(requestScheme);
      int defaultPort = newScheme.equals("https") ? 443 : 80;
      int newPort = port.orElse(host.isPresent() ? defaultPort : requestPort);
      String newPath = path.orElse(requestPath);
      String query = newPath.indexOf('?') >= 0 ? "" : requestQuery.map(q -> "?" + q).orElse("");
      return newScheme + "://" + host.orElse(requestHost) + (newPort == defaultPort ? "" : ":" + newPort) + newPath + query;
    }
  }

  record DirectResponse(int status, String body, HeaderMutations headers) implements RouteAction {}

  /**
   * One destination of a route: its request header changes, and the response header changes
   * applied before the route's own (Envoy's order: weighted cluster, then route).
   */
  record WeightedCluster(String name, int weight, HeaderMutations headers, HeaderMutations responseHeaders) {
    public WeightedCluster {
      if (weight < 0) {
        throw new IllegalArgumentException("weight must not be negative, got " + weight);
      }
    }

    public WeightedCluster(String name, int weight, HeaderMutations headers) {
      this(name, weight, headers, HeaderMutations.NONE);
    }
  }

  /** Envoy's retry policy: retryOn conditions, attempts, per-try timeout and backoff. */
  record RetryPolicy(int numRetries, List<String> retryOn, List<Integer> retriableStatusCodes,
      Optional<Duration> perTryTimeout, Duration baseInterval, Duration maxInterval) {
    public RetryPolicy {
      retryOn = List.copyOf(retryOn);
      retriableStatusCodes = List.copyOf(retriableStatusCodes);
    }
  }

  /** Prefix rewrite (replaces what the route's prefix matched), regex rewrite, authority rewrite. */
  record Rewrite(Optional<String> prefix, Optional<StringMatcher.Regex> regex, String regexSubstitution,
      Optional<String> authority) {}

  record Mirror(String cluster, int perMillion) {}

  /** What the ring hash keys on: a header, a cookie, the source address or a query parameter. */
  record HashPolicy(Kind kind, String name) {
    public enum Kind { HEADER, COOKIE, SOURCE_IP, QUERY_PARAMETER }
  }

  /** Header changes: set (overwrite), add (append), remove. */
  record HeaderMutations(List<java.util.Map.Entry<String, String>> set, List<java.util.Map.Entry<String, String>> add,
      List<String> remove) {
    public static final HeaderMutations NONE = new HeaderMutations(List.of(), List.of(), List.of());

    public HeaderMutations {
      set = List.copyOf(set);
      add = List.copyOf(add);
      remove = List.copyOf(remove);
    }

    public boolean isEmpty() {
      return set.isEmpty() && add.isEmpty() && remove.isEmpty();
    }

    /** These changes, then {@code later}'s: a later set wins, adds accumulate, removes of both apply. */
    public HeaderMutations then(HeaderMutations later) {
      if (later.isEmpty()) {
        return this;
      }
      if (isEmpty()) {
        return later;
      }
      List<java.util.Map.Entry<String, String>> sets = new java.util.ArrayList<>(set);
      sets.addAll(later.set);
      List<java.util.Map.Entry<String, String>> adds = new java.util.ArrayList<>(add);
      adds.addAll(later.add);
      List<String> removes = new java.util.ArrayList<>(remove);
      removes.addAll(later.remove);
      return new HeaderMutations(sets, adds, removes);
    }
  }
}
