package dev.inmesh.internal.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.Outcome;
import org.junit.jupiter.api.Test;

class LoadStatsTest {
  private final LoadStats stats = new LoadStats();
  private final Endpoint a = Endpoint.of("10.0.0.1", 8080);
  private final Endpoint b = Endpoint.of("10.0.0.2", 8080);

  @Test
  void countsPerEndpointAndPercentilesPerIntervalThenStartsAgain() {
    for (int millis = 1; millis <= 100; millis++) {
      stats.record(millis % 2 == 0 ? a : b, millis == 100 ? Outcome.SERVER_ERROR : Outcome.SUCCESS, millis * 1_000_000L);
    }

    var counts = stats.drain();
    assertThat(counts.get(a)).isEqualTo(new LoadStats.Counts(50, 49, 1));
    assertThat(counts.get(b)).isEqualTo(new LoadStats.Counts(50, 50, 0));
    assertThat(stats.drainLatencies()).contains(new LoadStats.Latencies(100, 50.0, 99.0));

    assertThat(stats.drain()).isEmpty();
    assertThat(stats.drainLatencies()).isEmpty();
  }
}
