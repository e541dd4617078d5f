package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadTest {
  private final ExecutorService workers = Load.workers();

  @AfterEach
  void stop() {
    workers.shutdownNow();
  }

  @Test
  void callsTakingTurnsEachGetTheirOwnShareAndTheirOwnLatencies() throws Exception {
    AtomicInteger slowCalls = new AtomicInteger();
    AtomicInteger fastCalls = new AtomicInteger();
    Load.Call slow = () -> {
      slowCalls.incrementAndGet();
      TimeUnit.MILLISECONDS.sleep(20);
    };
    Load.Call fast = () -> {
      fastCalls.incrementAndGet();
      throw new IllegalStateException("this one fails");
    };

    // 25 requests: the first call takes the 1st, 3rd … 25th
    List<Load.Run> runs = Load.openLoop(List.of(slow, fast), 25, Duration.ofSeconds(1), workers);

    assertThat(slowCalls).hasValue(13);
    assertThat(fastCalls).hasValue(12);
    assertThat(runs.get(0).requests()).isEqualTo(13);
    assertThat(runs.get(1).requests()).isEqualTo(12);
    assertThat(runs.get(0).failures()).isZero();
    assertThat(runs.get(1).failures()).isEqualTo(12);
    assertThat(runs.get(0).latencies().getTotalCount()).isEqualTo(13);
    assertThat(runs.get(0).latencies().getMinValue()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(20));
    assertThat(runs.get(1).latencies().getTotalCount()).isZero();
  }
}
