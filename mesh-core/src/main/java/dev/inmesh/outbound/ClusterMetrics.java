package dev.inmesh.outbound;

import dev.inmesh.resilience.Admission;
import dev.inmesh.resilience.OutlierDetector;
import dev.inmesh.resilience.OutlierEvent;
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
 *       ({@code circuit_breakers.default.rq_open}, {@code rq_pending_open}, {@code rq_retry_open}; retries
 *       are bounded by the retry budget, as in Envoy when a cluster has one);
 *   <li>{@code inmesh.circuit.overflows{cluster,limit}}: requests refused by a limit
 *       ({@code upstream_rq_pending_overflow}, {@code upstream_rq_retry_overflow});
 *   <li>{@code inmesh.requests.retries{cluster}}: attempts retried ({@code upstream_rq_retry}).
 * </ul>
 * The gauges read the cluster's current detector and limiter, so they follow config updates.
 * The meters are removed when the cluster goes.
 */
final class ClusterMetrics {
  private final MeterRegistry registry;
  private final String cluster;
  private final List<Meter> meters = new ArrayList<>();
  private final Map<OutlierEvent.Cause, Counter> ejections = new EnumMap<>(OutlierEvent.Cause.class);
  private final Counter ejectionOverflows;
  private final Counter requestOverflows;
  private final Counter pendingOverflows;
  private final Counter retryOverflows;
  private final Counter retries;

  ClusterMetrics(MeterRegistry registry, ClusterRuntime runtime) {
    this.registry = registry;
    this.cluster = runtime.name();
    for (OutlierEvent.Cause cause : OutlierEvent.Cause.values()) {
      ejections.put(cause, add(Counter.builder("inmesh.outlier.ejections")
          .description("Endpoints ejected by outlier detection, per cause")
          .tags(tags().and("cause", cause.name().toLowerCase(Locale.ROOT)))
          .register(registry)));
    }
    this.ejectionOverflows = add(Counter.builder("inmesh.outlier.ejections.overflow")
        .description("Outliers left in because ejecting them would pass maxEjectionPercent")
        .tags(tags()).register(registry));
    add(Gauge.builder("inmesh.outlier.ejections.active", runtime, r -> r.outliers().ejectedCount())
        .description("Endpoints ejected now").tags(tags()).register(registry));
    add(Gauge.builder("inmesh.circuit.open", runtime, r -> open(r.limiter().activeRequests(), r.limiter().limits().maxRequests()))
        .description("1 while the cluster's limit is reached").tags(tags().and("limit", "requests")).register(registry));
    add(Gauge.builder("inmesh.circuit.open", runtime,
            r -> open(r.limiter().pendingRequests(), r.limiter().limits().maxPendingRequests()))
        .description("1 while the cluster's limit is reached").tags(tags().and("limit", "pending_requests")).register(registry));
    add(Gauge.builder("inmesh.circuit.open", runtime, ClusterMetrics::retriesOpen)
        .description("1 while the cluster's limit is reached").tags(tags().and("limit", "retries")).register(registry));
    this.requestOverflows = overflowCounter("requests");
    this.pendingOverflows = overflowCounter("pending_requests");
    this.retryOverflows = overflowCounter("retries");
    this.retries = add(Counter.builder("inmesh.requests.retries")
        .description("Attempts the mesh retried, per cluster").tags(tags()).register(registry));
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

  /** A retry the limit or the budget did not allow. */
  void retryRefused() {
    retryOverflows.increment();
  }

  void remove() {
    meters.forEach(registry::remove);
    meters.clear();
  }

  /** Retries are bounded by the retry budget, which stands in for {@code maxRetries} as in Envoy. */
  private static double retriesOpen(ClusterRuntime runtime) {
    return open(runtime.retryBudget().activeRetries(), runtime.retryBudget().allowedRetries());
  }

  private static double open(int active, int max) {
    return active >= max ? 1 : 0;
  }

  private Counter overflowCounter(String limit) {
    return add(Counter.builder("inmesh.circuit.overflows")
        .description("Requests refused by the cluster's limit")
        .tags(tags().and("limit", limit)).register(registry));
  }

  private Tags tags() {
    return Tags.of("cluster", cluster);
  }

  private <M extends Meter> M add(M meter) {
    meters.add(meter);
    return meter;
  }
}
