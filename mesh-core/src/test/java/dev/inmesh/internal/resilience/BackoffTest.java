package dev.inmesh.internal.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final Duration BASE = Duration.ofMillis(25);
  private static final Duration MAX = Duration.ofMillis(250);

  @Test
  void defaultsAreEnvoys25MillisecondsAndTenTimesThat() {
    assertThat(BackoffConfig.defaults()).isEqualTo(new BackoffConfig(BASE, MAX));
  }

  @Test
  void drawsRetryNFromZeroToTwoToTheNMinusOneTimesTheBase() {
    Backoff backoff = Backoff.of(BackoffConfig.defaults(), new SplittableRandom(7));

    for (int retry = 1; retry <= 3; retry++) {
      Duration ceiling = BASE.multipliedBy((1L << retry) - 1);
      for (int i = 0; i < 2_000; i++) {
        assertThat(backoff.delay(retry)).isBetween(Duration.ZERO, ceiling.minusNanos(1));
      }
    }
  }

  @Test
  void neverWaitsLongerThanTheMaxInterval() {
    Backoff backoff = Backoff.of(BackoffConfig.defaults(), new SplittableRandom(7));

    for (int retry = 1; retry <= 100; retry++) {
      for (int i = 0; i < 100; i++) {
        assertThat(backoff.delay(retry)).isBetween(Duration.ZERO, MAX);
      }
    }
    assertThat(backoff.delay(Integer.MAX_VALUE)).isBetween(Duration.ZERO, MAX);
  }

  @Test
  void growsWithTheRetryNumberUntilTheCap() {
    Backoff backoff = Backoff.of(BackoffConfig.defaults(), new SplittableRandom(7));

    double first = meanMillis(backoff, 1);
    double second = meanMillis(backoff, 2);
    double third = meanMillis(backoff, 3);
    double tenth = meanMillis(backoff, 10);

    assertThat(first).isCloseTo(12.5, offset(1.0));
    assertThat(second).isGreaterThan(first * 2);
    assertThat(third).isGreaterThan(second * 1.5);
    assertThat(tenth).isGreaterThan(third).isLessThanOrEqualTo(250);
  }

  @Test
  void repeatsItselfForTheSameSeed() {
    Backoff one = Backoff.of(BackoffConfig.defaults(), new SplittableRandom(42));
    Backoff other = Backoff.of(BackoffConfig.defaults(), new SplittableRandom(42));

    assertThat(IntStream.rangeClosed(1, 5).mapToObj(one::delay))
        .containsExactlyElementsOf(IntStream.rangeClosed(1, 5).mapToObj(other::delay).toList());
  }

  @Test
  void countsRetriesFromOne() {
    Backoff backoff = Backoff.of(BackoffConfig.defaults(), new SplittableRandom(1));

    assertThatThrownBy(() -> backoff.delay(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
  }

  @Test
  void rejectsAMaxBelowTheBaseQuotingBoth() {
    assertThatThrownBy(() -> new BackoffConfig(Duration.ofMillis(100), Duration.ofMillis(50)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT0.1S").hasMessageContaining("PT0.05S");
  }

  private static double meanMillis(Backoff backoff, int retry) {
    return IntStream.range(0, 10_000).mapToLong(i -> backoff.delay(retry).toNanos()).average().orElseThrow() / 1e6;
  }
}
