package dev.inmesh.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Bounded waiting for tests: polls a condition, and fails naming what it waited for. */
public final class Await {
  private Await() {}

  public static void until(BooleanSupplier condition, Duration timeout, String what) {
    until(condition, timeout, what, () -> "");
  }

  /** As {@link #until(BooleanSupplier, Duration, String)}, adding {@code state} to the failure to show what was seen. */
  public static void until(BooleanSupplier condition, Duration timeout, String what, Supplier<String> state) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return;
      }
      sleep(Duration.ofMillis(50));
    }
    if (!condition.getAsBoolean()) {
      String seen = state.get();
      throw new AssertionError("timed out after " + timeout + " waiting for " + what
          + (seen.isEmpty() ? "" : "; last seen: " + seen));
    }
  }

  public static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sleeping", e);
    }
  }
}
