package dev.inmesh.internal.outbound;

import java.io.InterruptedIOException;
import java.time.Duration;

/** How the pipeline waits (a fault delay, a retry backoff): the thread sleeps; a test moves its clock instead. */
interface Sleeper {
  Sleeper THREAD = duration -> {
    if (duration.isZero() || duration.isNegative()) {
      return;
    }
    try {
      Thread.sleep(duration.toMillis(), (int) (duration.toNanos() % 1_000_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while the mesh delayed the call");
    }
  };

  void sleep(Duration duration) throws InterruptedIOException;
}
