package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LoopbackHarnessTest {
  private static LoopbackHarness.Result result(String variant, long p50Micros) {
    Histogram latencies = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
    latencies.recordValueWithCount(p50Micros * 1000, 100);
    return new LoopbackHarness.Result(variant, latencies, 100, 0, 25, 1000, 0, 0);
  }

  private static String report(long plain, long inmesh, long oneHop, long twoHops) {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    LoopbackHarness.report(List.of(result("plain", plain), result("inmesh", inmesh), result("haproxy-1", oneHop),
        result("haproxy-2", twoHops)), new PrintStream(printed, true, StandardCharsets.UTF_8));
    return printed.toString(StandardCharsets.UTF_8);
  }

  @Test
  void p3IsTheRatioOfWhatTheHopsAddedToWhatInmeshAdded() {
    String report = report(300, 310, 460, 600);

    assertThat(report).containsPattern("\\| P2 \\| [^|]+\\| 10\\.\\d µs \\| ≤ 10 µs \\| (PASS|FAIL) \\|")
        // HdrHistogram keeps three significant digits: 16× and 30×, give or take a tenth
        .containsPattern("\\| P3 \\| less added latency than one / two HAProxy hops \\| 1[56]\\.\\d× / (29|30)\\.\\d× \\| ≥ 5× / ≥ 10× \\| PASS \\|");
  }

  @Test
  void whenInmeshAddedNothingP3GivesTheHopsOwnFiguresNotARatioToNoise() {
    String report = report(300, 294, 460, 600);

    assertThat(report)
        .containsPattern("\\| P3 \\| less added latency than one / two HAProxy hops \\| Inmesh added none; the hops added 160\\.\\d / 300\\.\\d µs \\|")
        .doesNotContainPattern("[\\d.]+× / [\\d.]+×");
  }
}
