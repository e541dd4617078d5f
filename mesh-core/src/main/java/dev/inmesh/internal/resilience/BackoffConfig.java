package dev.inmesh.internal.resilience;

import java.time.Duration;
import java.util.Objects;

/** Envoy's {@code retry_back_off}: the base interval and the most any one delay may be. */
public record BackoffConfig(Duration baseInterval, Duration maxInterval) {
  public BackoffConfig {
    Objects.requireNonNull(baseInterval, "baseInterval");
    Objects.requireNonNull(maxInterval, "maxInterval");
    if (baseInterval.isNegative() || baseInterval.isZero()) {
      throw new IllegalArgumentException("baseInterval must be positive, got " + baseInterval);
    }
    if (maxInterval.compareTo(baseInterval) < 0) {
      throw new IllegalArgumentException(
          "maxInterval must be at least baseInterval " + baseInterval + ", got " + maxInterval);
    }
  }

  /** Envoy's defaults: 25 ms base, 250 ms max. */
  public static BackoffConfig defaults() {
    return of(Duration.ofMillis(25));
  }

  /** {@code baseInterval} with Envoy's default max of ten times it. */
  public static BackoffConfig of(Duration baseInterval) {
    return new BackoffConfig(baseInterval, baseInterval.multipliedBy(10));
  }
}
