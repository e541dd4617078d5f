package dev.inmesh.internal.outbound;

import dev.inmesh.Ticker;
import dev.inmesh.internal.balancing.EndpointState;
import dev.inmesh.internal.balancing.LoadBalancer;
import dev.inmesh.internal.balancing.LoadBalancers;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.Admission;
import dev.inmesh.internal.resilience.ConnectionLimiter;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import dev.inmesh.internal.resilience.OutlierDetector;
import dev.inmesh.internal.resilience.RetryBudget;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/**
 * The live state of one cluster: its balancer over the current endpoints, outlier detection,
 * connection limits, retry budget and requests in flight. Config and endpoints are swapped in
 * whole; the counters live across swaps so that an update does not forget an ejection.
 */
public final class ClusterRuntime implements EndpointState {
  /** A cluster without outlier detection: both consecutive-error counts off. */
  private static final OutlierDetectionConfig NO_DETECTION =
      new OutlierDetectionConfig(0, 0, java.time.Duration.ofSeconds(10), java.time.Duration.ofSeconds(30), 10, 0);
  private final String name;
  private final Ticker ticker;
  private final RandomGenerator random;
  private final Map<Endpoint, AtomicInteger> active = new ConcurrentHashMap<>();
  private final LoadStats loadStats = new LoadStats();
  private volatile ClusterConfig config;
  private volatile List<Endpoint> endpoints = List.of();
  private volatile LoadBalancer balancer;
  private volatile OutlierDetector outliers;
  private volatile ConnectionLimiter limiter;
  private volatile RetryBudget retryBudget;
  private MeterRegistry registry;
  private volatile ClusterMetrics metrics;
  private boolean closed; // guarded by this

  ClusterRuntime(String name, ClusterConfig config, Ticker ticker, RandomGenerator random) {
    this.name = name;
    this.ticker = ticker;
    this.random = random;
    configure(config);
  }

  /**
   * Where this cluster's {@link ClusterMetrics} go. They are registered at its first call, so that
   * the clusters nobody calls (most of them, in a large mesh) cost no meters; {@link #close()}
   * removes them.
   */
  synchronized void meter(MeterRegistry registry) {
    this.registry = registry;
  }

  private void ensureMetrics() {
    if (metrics == null) {
      synchronized (this) {
        if (metrics == null && registry != null && !closed) {
          ClusterMetrics created = new ClusterMetrics(registry, this);
          created.watch(outliers);
          metrics = created;
        }
      }
    }
  }

  /** The cluster has left the config. */
  synchronized void close() {
    closed = true;
    if (metrics != null) {
      metrics.remove();
    }
  }

  public String name() {
    return name;
  }

  public ClusterConfig config() {
    return config;
  }

  public List<Endpoint> endpoints() {
    return endpoints;
  }

  public LoadBalancer balancer() {
    return balancer;
  }

  public OutlierDetector outliers() {
    return outliers;
  }

  public ConnectionLimiter limiter() {
    return limiter;
  }

  /**
   * The cluster's retry budget, or its {@code maxRetries} as a fixed one. A call keeps the one it
   * started with: a config update brings a new budget with its own counts.
   */
  public RetryBudget retryBudget() {
    return retryBudget;
  }

  /** Calls per endpoint since the last load report. */
  public LoadStats loadStats() {
    return loadStats;
  }

  /** Requests in flight to this cluster now. */
  public long inFlight() {
    return active.values().stream().mapToLong(AtomicInteger::get).sum();
  }

  synchronized void configure(ClusterConfig next) {
    ClusterConfig previous = this.config;
    this.config = next;
    if (previous == null || !previous.outlierDetection().equals(next.outlierDetection())) {
      OutlierDetectionConfig detection = next.outlierDetection().orElse(NO_DETECTION);
      this.outliers = OutlierDetector.of(detection, ticker);
      outliers.retainOnly(endpoints);
      if (metrics != null) {
        metrics.watch(outliers);
      }
    }
    if (previous == null || !previous.limits().equals(next.limits())) {
      this.limiter = ConnectionLimiter.of(next.limits());
      this.retryBudget = RetryBudget.of(next.limits().effectiveRetryBudget());
    }
    rebalance();
  }

  synchronized void endpoints(List<Endpoint> next) {
    if (!Endpoint.samePlacement(next, endpoints)) {
      this.endpoints = List.copyOf(next);
      outliers.retainOnly(endpoints);
      active.keySet().retainAll(endpoints);
      rebalance();
    }
  }

  private void rebalance() {
    this.balancer = LoadBalancers.create(config.balancer(), endpoints, this, random);
  }

  /** Below the cluster's minimum health (Envoy's panic threshold) every endpoint counts as healthy. */
  @Override
  public boolean isHealthy(Endpoint endpoint) {
    OutlierDetector detector = outliers;
    return !detector.isEjected(endpoint) || detector.panic();
  }

  @Override
  public int activeRequests(Endpoint endpoint) {
    AtomicInteger count = active.get(endpoint);
    return count == null ? 0 : count.get();
  }

  void refused(Admission.Refusal refusal) {
    if (metrics != null) {
      metrics.refused(refusal);
    }
  }

  void retried() {
    if (metrics != null) {
      metrics.retried();
    }
  }

  /** A copy of a request went to this cluster as a mirror. */
  void mirrorSent() {
    ensureMetrics();
    if (metrics != null) {
      metrics.mirrorSent();
    }
  }

  /** A copy of a request for this cluster as a mirror was dropped: the mirror pool was full. */
  void mirrorDropped() {
    ensureMetrics();
    if (metrics != null) {
      metrics.mirrorDropped();
    }
  }

  void retryRefused() {
    if (metrics != null) {
      metrics.retryRefused();
    }
  }

  void started(Endpoint endpoint) {
    ensureMetrics();
    active.computeIfAbsent(endpoint, e -> new AtomicInteger()).incrementAndGet();
  }

  void finished(Endpoint endpoint) {
    AtomicInteger count = active.get(endpoint);
    if (count != null) {
      count.decrementAndGet();
    }
  }
}
