package dev.inmesh.internal.resilience;

import java.time.Duration;
import java.util.Objects;

/**
 * A cluster's outlier detection, in Istio's terms (DestinationRule {@code outlierDetection}) with
 * Envoy's meaning.
 *
 * @param consecutive5xx failures in a row (any {@link Outcome} but SUCCESS) that eject an
 *     endpoint; 0 turns this check off
 * @param consecutiveGatewayErrors gateway errors and local-origin failures in a row that eject an
 *     endpoint; 0 turns this check off
 * @param interval how often Envoy sweeps; here it paces how fast a healthy endpoint earns back a
 *     shorter ejection (see {@link OutlierDetector})
 * @param baseEjectionTime the first ejection's length; later ones are multiples of it
 * @param maxEjectionPercent the largest share of the cluster that may be ejected at once; 0 never
 *     ejects
 * @param minHealthPercent below this share of healthy endpoints the cluster is in panic and
 *     balancers ignore ejections; 0 never panics
 */
public record OutlierDetectionConfig(
    int consecutive5xx,
    int consecutiveGatewayErrors,
    Duration interval,
    Duration baseEjectionTime,
    int maxEjectionPercent,
    int minHealthPercent) {

  public OutlierDetectionConfig {
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(baseEjectionTime, "baseEjectionTime");
    if (consecutive5xx < 0) {
      throw new IllegalArgumentException("consecutive5xx must be 0 (off) or more, got " + consecutive5xx);
    }
    if (consecutiveGatewayErrors < 0) {
      throw new IllegalArgumentException(
          "consecutiveGatewayErrors must be 0 (off) or more, got " + consecutiveGatewayErrors);
    }
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive, got " + interval);
    }
    if (baseEjectionTime.isNegative() || baseEjectionTime.isZero()) {
      throw new IllegalArgumentException("baseEjectionTime must be positive, got " + baseEjectionTime);
    }
    if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
      throw new IllegalArgumentException(
          "maxEjectionPercent must be between 0 and 100, got " + maxEjectionPercent);
    }
    if (minHealthPercent < 0 || minHealthPercent > 100) {
      throw new IllegalArgumentException(
          "minHealthPercent must be between 0 and 100, got " + minHealthPercent);
    }
  }

  /**
   * Envoy's defaults: 5 consecutive 5xx, 10 s interval, 30 s base ejection, at most 10% ejected.
   * Gateway-error ejection is off because Envoy detects it but enforces it on 0% of hosts by
   * default. The panic threshold is Envoy's {@code healthy_panic_threshold} of 50%; note that
   * Istio writes 0% when a DestinationRule leaves {@code minHealthPercent} out, so the translator
   * sets that field explicitly.
   */
  public static OutlierDetectionConfig defaults() {
    return new OutlierDetectionConfig(5, 0, Duration.ofSeconds(10), Duration.ofSeconds(30), 10, 50);
  }
}
