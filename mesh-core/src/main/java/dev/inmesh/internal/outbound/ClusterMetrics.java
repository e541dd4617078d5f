package dev.inmesh.internal.outbound;

import dev.inmesh.internal.resilience.Admission;
import dev.inmesh.internal.resilience.OutlierDetector;
import dev.inmesh.internal.resilience.OutlierEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * One cluster's resilience meters, after Envoy's cluster statistics:
 * <ul>
 *   <li>{@code inmesh.outlier.ejections{cluster,cause}}: endpoints ejected (Envoy's
 *       {@code outlier_detection.ejections_enforced_total} and its per-cause twins);
 *   <li>{@code inmesh.outlier.ejections.overflow{cluster}}: outliers kept in because of
 *       {@code maxEjectionPercent} ({@code ejections_overflow});
 *   <li>{@code inmesh.outlier.ejections.active{cluster}}: endpoints ejected now
 *       ({@code ejections_active});
 *   <li>{@code inmesh.circuit.open{cluster,limit}}: 1 while the limit is reached, else 0
 *       ({@code circuit_breakers.default.rq_open}, {@code cx_open}, {@code rq_pending_open},
 *       {@code rq_retry_open}; retries are bounded by the retry budget where the cluster has one, else
 *       by {@code maxRetries});
 *   <li>{@code inmesh.circuit.overflows{cluster,limit}}: requests refused by a limit
 *       ({@code upstream_rq_pending_overflow}, {@code upstream_rq_retry_overflow});
 *   <li>{@code inmesh.requests.retries{cluster}}: attempts retried ({@code upstream_rq_retry});
 *   <li>{@code inmesh.mirror.requests{cluster,result}}: copies of requests for this cluster as a mirror,
 *       {@code sent} (taken by the mesh's mirror pool) or {@code dropped} (the pool was full).
 * </ul>
 * The gauges read the cluster's current detector and limiter, so they follow config updates.
 * The meters are removed when the cluster goes.
 */
final class ClusterMetrics {
  private static final String OPEN = "1 while the cluster's limit is reached";
  private static final String OVERFLOWS = "Requests refused by the cluster's limit";
  private static final String MIRRORS = "Copies of requests for the cluster as a mirror, sent or dropped because the mirror pool was full";
  private final MeterRegistry registry;
  private final String cluster;
  private final List<Meter> meters = new ArrayList<>();
  private final Map<OutlierEvent.Cause, Counter> ejections = new EnumMap<>(OutlierEvent.Cause.class);
  private final Counter ejectionOverflows;
  private final Counter requestOverflows;
  private final Counter pendingOverflows;
  private final Counter retryOverflows;
  private final Counter retries;
  private final Counter mirrorsSent;
  private final Counter mirrorsDropped;

  ClusterMetrics(MeterRegistry registry, ClusterRuntime runtime) {
    this.registry = registry;
    this.cluster = runtime.name();
    for (OutlierEvent.Cause cause : OutlierEvent.Cause.values()) {
      ejections.put(cause, counter("inmesh.outlier.ejections", "Endpoints ejected by outlier detection, per cause",
          tags().and("cause", cause.name().toLowerCase(Locale.ROOT))));
    }
    this.ejectionOverflows = counter("inmesh.outlier.ejections.overflow",
        "Outliers left in because ejecting them would pass maxEjectionPercent", tags());
    gauge("inmesh.outlier.ejections.active", "Endpoints ejected now", tags(), runtime, r -> r.outliers().ejectedCount());
    gauge("inmesh.circuit.open", OPEN, tags().and("limit", "requests"), runtime,
        r -> open(r.limiter().activeRequests(), r.limiter().limits().maxRequests()));
    // a request in flight holds an HTTP/1.1 connection (Envoy's cx_open)
    gauge("inmesh.circuit.open", OPEN, tags().and("limit", "connections"), runtime,
        r -> open(r.limiter().busyConnections(), r.limiter().limits().maxConnections()));
    gauge("inmesh.circuit.open", OPEN, tags().and("limit", "pending_requests"), runtime,
        r -> open(r.limiter().pendingRequests(), r.limiter().limits().maxPendingRequests()));
    gauge("inmesh.circuit.open", OPEN, tags().and("limit", "retries"), runtime, ClusterMetrics::retriesOpen);
    this.requestOverflows = counter("inmesh.circuit.overflows", OVERFLOWS, tags().and("limit", "requests"));
    this.pendingOverflows = counter("inmesh.circuit.overflows", OVERFLOWS, tags().and("limit", "pending_requests"));
    this.retryOverflows = counter("inmesh.circuit.overflows", OVERFLOWS, tags().and("limit", "retries"));
    this.retries = counter("inmesh.requests.retries", "Attempts the mesh retried, per cluster", tags());
    this.mirrorsSent = counter("inmesh.mirror.requests", MIRRORS, tags().and("result", "sent"));
    this.mirrorsDropped = counter("inmesh.mirror.requests", MIRRORS, tags().and("result", "dropped"));
  }

  /** Counts the events of a detector; called for each detector the cluster gets. */
  void watch(OutlierDetector detector) {
    detector.onEvent(event -> {
      if (event instanceof OutlierEvent.Ejected ejected) {
        ejections.get(ejected.cause()).increment();
      } else if (event instanceof OutlierEvent.Skipped) {
        ejectionOverflows.increment();
      }
    });
  }

  void refused(Admission.Refusal refusal) {
    (refusal.limit() == Admission.Limit.MAX_PENDING_REQUESTS ? pendingOverflows : requestOverflows).increment();
  }

  void retried() {
    retries.increment();
  }

  void mirrorSent() {
    mirrorsSent.increment();
  }

  void mirrorDropped() {
    mirrorsDropped.increment();
  }

  /** A retry the limit or the budget did not allow. */
  void retryRefused() {
    retryOverflows.increment();
  }

  void remove() {
    meters.forEach(registry::remove);
    meters.clear();
  }

  /** Retries are bounded by the retry budget, or by {@code maxRetries} as a fixed budget. */
  private static double retriesOpen(ClusterRuntime runtime) {
    return open(runtime.retryBudget().activeRetries(), runtime.retryBudget().allowedRetries());
  }

  private static double open(int active, int max) {
    return active >= max ? 1 : 0;
  }

  /**
   * The counter, registered by this cluster unless another Mesh on the same registry already has
   * it: then both count into it, and only its owner removes it.
   */
  private Counter counter(String name, String description, Tags tags) {
    boolean owned = registry.find(name).tags(tags).meter() == null;
    Counter counter = Counter.builder(name).description(description).tags(tags).register(registry);
    if (owned) {
      meters.add(counter);
    }
    return counter;
  }

  /** The gauge, unless another Mesh on the same registry already reports this cluster's. */
  private void gauge(String name, String description, Tags tags, ClusterRuntime runtime, ToDoubleFunction<ClusterRuntime> value) {
    if (registry.find(name).tags(tags).meter() == null) {
      meters.add(Gauge.builder(name, runtime, value).description(description).tags(tags).register(registry));
    }
  }

  private Tags tags() {
    return Tags.of("cluster", cluster);
  }
}
