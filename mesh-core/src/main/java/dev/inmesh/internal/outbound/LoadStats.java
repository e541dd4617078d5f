package dev.inmesh.internal.outbound;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.Outcome;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one cluster's endpoints did since the last load report (xDS LRS): calls issued, answered
 * successfully, failed, and how long they took. {@link #drain()} hands the counts over and starts
 * again from zero; {@link #drainLatencies()} the latencies, as percentiles.
 */
public final class LoadStats {
  /** One endpoint's counts for one report interval. */
  public record Counts(long issued, long succeeded, long failed) {}

  /** The cluster's attempt latencies in one interval: how many, and their median and 99th percentile. */
  public record Latencies(long count, double p50Millis, double p99Millis) {}

  /**
   * At most this many latencies are kept per interval, a uniform sample beyond it (reservoir
   * sampling). The sample grows as calls come, so that the clusters nobody calls cost nothing.
   */
  private static final int SAMPLES = 4096;
  private static final long[] NONE = new long[0];
  private final Object lock = new Object();
  private long[] latencies = NONE; // guarded by lock
  private long seen; // guarded by lock

  private static final class Counters {
    final LongAdder issued = new LongAdder();
    final LongAdder succeeded = new LongAdder();
    final LongAdder failed = new LongAdder();
  }

  private final Map<Endpoint, Counters> byEndpoint = new ConcurrentHashMap<>();

  public void record(Endpoint endpoint, Outcome outcome, long nanos) {
    synchronized (lock) {
      if (seen < SAMPLES) {
        if (seen == latencies.length) {
          latencies = java.util.Arrays.copyOf(latencies, Math.max(16, latencies.length * 2));
        }
        latencies[(int) seen] = nanos;
      } else {
        long slot = java.util.concurrent.ThreadLocalRandom.current().nextLong(seen + 1);
        if (slot < SAMPLES) {
          latencies[(int) slot] = nanos;
        }
      }
      seen++;
    }
    Counters counters = byEndpoint.computeIfAbsent(endpoint, e -> new Counters());
    counters.issued.increment();
    if (outcome == Outcome.SUCCESS) {
      counters.succeeded.increment();
    } else {
      counters.failed.increment();
    }
  }

  /** The counts since the last drain, by endpoint; endpoints with no call are left out. */
  public Map<Endpoint, Counts> drain() {
    Map<Endpoint, Counts> counts = new LinkedHashMap<>();
    byEndpoint.forEach((endpoint, counters) -> {
      long issued = counters.issued.sumThenReset();
      long succeeded = counters.succeeded.sumThenReset();
      long failed = counters.failed.sumThenReset();
      if (issued > 0) {
        counts.put(endpoint, new Counts(issued, succeeded, failed));
      }
    });
    return counts;
  }

  /** The latencies since the last drain, as percentiles; empty when there was no call. */
  public java.util.Optional<Latencies> drainLatencies() {
    long[] sample;
    long count;
    synchronized (lock) {
      count = seen;
      sample = java.util.Arrays.copyOf(latencies, (int) Math.min(seen, SAMPLES));
      seen = 0;
    }
    if (sample.length == 0) {
      return java.util.Optional.empty();
    }
    java.util.Arrays.sort(sample);
    return java.util.Optional.of(new Latencies(count, percentile(sample, 0.50), percentile(sample, 0.99)));
  }

  private static double percentile(long[] sorted, double quantile) {
    int index = (int) Math.ceil(quantile * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1_000_000.0;
  }
}
