package dev.inmesh.internal.resilience;

import dev.inmesh.Ticker;
import java.time.Duration;

/** Time that moves only when a test says so; starts near overflow to catch naive comparisons. */
final class FakeTicker implements Ticker {
  private long nanos = Long.MAX_VALUE - Duration.ofMinutes(1).toNanos();

  @Override
  public long nanoTime() {
    return nanos;
  }

  void advance(Duration duration) {
    nanos += duration.toNanos();
  }
}
