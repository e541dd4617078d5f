package dev.inmesh.outbound;

import dev.inmesh.model.Endpoint;
import dev.inmesh.resilience.Outcome;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one cluster's endpoints did since the last load report (xDS LRS): calls issued, answered
 * successfully, failed. {@link #drain()} hands the counts over and starts again from zero.
 */
public final class LoadStats {
  /** One endpoint's counts for one report interval. */
  public record Counts(long issued, long succeeded, long failed) {}

  private static final class Counters {
    final LongAdder issued = new LongAdder();
    final LongAdder succeeded = new LongAdder();
    final LongAdder failed = new LongAdder();
  }

  private final Map<Endpoint, Counters> byEndpoint = new ConcurrentHashMap<>();

  void record(Endpoint endpoint, Outcome outcome) {
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
}
