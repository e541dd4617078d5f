package dev.inmesh.internal.resilience;

import dev.inmesh.internal.model.Endpoint;
import java.time.Duration;

/** What an {@link OutlierDetector} did to one endpoint; metrics and logs subscribe to these. */
public sealed interface OutlierEvent {
  Endpoint endpoint();

  /** Which check found the endpoint to be an outlier, as Envoy's {@code OutlierEjectionType}. */
  enum Cause { CONSECUTIVE_5XX, CONSECUTIVE_GATEWAY_ERRORS }

  /**
   * The endpoint is out of the healthy set until {@code untilNanos} on the detector's ticker.
   *
   * @param consecutive the failures in a row that triggered it
   * @param ejections how many times this endpoint has been ejected since it joined the cluster
   * @param duration how long this ejection lasts
   */
  record Ejected(
      Endpoint endpoint, long untilNanos, int consecutive, Cause cause, int ejections, Duration duration)
      implements OutlierEvent {}

  /** The ejection ran out and the endpoint is back in the healthy set. */
  record Returned(Endpoint endpoint) implements OutlierEvent {}

  /**
   * The endpoint was an outlier but stays in, because ejecting it would take the cluster past
   * {@code maxEjectionPercent} (Envoy's {@code ejections_overflow}). Its count starts again.
   */
  record Skipped(Endpoint endpoint, Cause cause, int ejected, int endpoints) implements OutlierEvent {}
}
