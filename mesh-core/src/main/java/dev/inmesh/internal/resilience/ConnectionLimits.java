package dev.inmesh.internal.resilience;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A cluster's connection pool and circuit-breaking settings, as Envoy's
 * {@code CircuitBreakers.Thresholds} and {@code HttpProtocolOptions}, and Istio's
 * {@code connectionPool} and {@code retryBudget}. Istio's "unlimited" (2^32-1) arrives as
 * {@link Integer#MAX_VALUE}.
 *
 * @param maxConnections connections to the whole cluster. Inmesh's HTTP clients speak HTTP/1.1 to
 *     the mesh, one request at a time on a connection, so a request in flight holds a connection:
 *     {@link ConnectionLimiter} admits at most this many at once, and the transport keeps no more
 *     connections open
 * @param maxPendingRequests requests that may wait for a connection or a request slot
 * @param maxRequests requests in flight to the cluster
 * @param maxRetries retries in flight to the cluster, where the cluster has no retry budget
 * @param retryBudget Envoy's retry budget; where present, {@code maxRetries} does not apply
 * @param maxRequestsPerConnection requests a connection carries before it is closed; 0 is no limit
 * @param idleTimeout how long a connection may stay idle before it is closed; empty leaves it to the
 *     transport
 */
public record ConnectionLimits(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries,
    Optional<RetryBudgetConfig> retryBudget, int maxRequestsPerConnection, Optional<Duration> idleTimeout) {
  public ConnectionLimits {
    requireNotNegative("maxConnections", maxConnections);
    requireNotNegative("maxPendingRequests", maxPendingRequests);
    requireNotNegative("maxRequests", maxRequests);
    requireNotNegative("maxRetries", maxRetries);
    requireNotNegative("maxRequestsPerConnection", maxRequestsPerConnection);
    Objects.requireNonNull(retryBudget, "retryBudget");
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    idleTimeout.filter(t -> t.isZero() || t.isNegative()).ifPresent(t -> {
      throw new IllegalArgumentException("idleTimeout must be positive, got " + t);
    });
  }

  /** The four circuit-breaking thresholds alone: no retry budget, no per-connection limit, the transport's idle timeout. */
  public ConnectionLimits(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {
    this(maxConnections, maxPendingRequests, maxRequests, maxRetries, Optional.empty(), 0, Optional.empty());
  }

  /** Envoy's defaults for a cluster without circuit breakers: 1024 connections, pending and requests, 3 retries. */
  public static ConnectionLimits defaults() {
    return new ConnectionLimits(1024, 1024, 1024, 3);
  }

  /** What bounds retries in flight: the retry budget, or else {@code maxRetries} as a fixed budget. */
  public RetryBudgetConfig effectiveRetryBudget() {
    return retryBudget.orElseGet(() -> new RetryBudgetConfig(0, maxRetries));
  }

  private static void requireNotNegative(String name, int value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must be 0 or more, got " + value);
    }
  }
}
