package dev.inmesh.resilience;

/**
 * A cluster's circuit-breaking thresholds, as Envoy's {@code CircuitBreakers.Thresholds} and
 * Istio's {@code connectionPool}. Istio's "unlimited" (2^32-1) arrives as
 * {@link Integer#MAX_VALUE}.
 *
 * @param maxConnections connections to the whole cluster; the transport owns connections and
 *     enforces this (OkHttp's pool, gRPC's channel), so {@link ConnectionLimiter} only carries it
 * @param maxPendingRequests requests that may wait for a free slot under {@code maxRequests}
 * @param maxRequests requests in flight to the cluster
 * @param maxRetries retries in flight to the cluster
 */
public record ConnectionLimits(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {
  public ConnectionLimits {
    requireNotNegative("maxConnections", maxConnections);
    requireNotNegative("maxPendingRequests", maxPendingRequests);
    requireNotNegative("maxRequests", maxRequests);
    requireNotNegative("maxRetries", maxRetries);
  }

  /** Envoy's defaults: 1024 of each. */
  public static ConnectionLimits defaults() {
    return new ConnectionLimits(1024, 1024, 1024, 1024);
  }

  private static void requireNotNegative(String name, int value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must be 0 or more, got " + value);
    }
  }
}
