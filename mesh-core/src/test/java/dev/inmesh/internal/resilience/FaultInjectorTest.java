package dev.inmesh.internal.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.internal.resilience.FaultConfig.Abort;
import dev.inmesh.internal.resilience.FaultConfig.AbortStatus;
import dev.inmesh.internal.resilience.FaultConfig.Delay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class FaultInjectorTest {
  private static final int DRAWS = 10_000;
  private static final Duration FIVE_SECONDS = Duration.ofSeconds(5);
  private static final AbortStatus SERVICE_UNAVAILABLE = new AbortStatus.Http(503);

  private final RandomGenerator random = new SplittableRandom(2024);

  @Test
  void delaysAboutHalfOfRequestsAtFiftyPercent() {
    FaultConfig config = new FaultConfig(Optional.of(new Delay(FIVE_SECONDS, 50)), Optional.empty());

    List<FaultDecision> decisions = decide(config);

    assertThat(decisions.stream().filter(d -> d.delay().isPresent()).count()).isBetween(4_800L, 5_200L);
    assertThat(decisions).allSatisfy(d -> {
      assertThat(d.abort()).isEmpty();
      d.delay().ifPresent(delay -> assertThat(delay).isEqualTo(FIVE_SECONDS));
    });
  }

  @Test
  void abortsAboutTenPercentOfRequestsAtTenPercent() {
    FaultConfig config = new FaultConfig(Optional.empty(), Optional.of(new Abort(SERVICE_UNAVAILABLE, 10)));

    long aborted = decide(config).stream().filter(d -> d.abort().isPresent()).count();

    assertThat(aborted).isBetween(900L, 1_100L);
  }

  @Test
  void abortsEveryRequestWhenFaultPercentageIs100() {
    FaultConfig config = new FaultConfig(Optional.empty(), Optional.of(new Abort(new AbortStatus.Grpc(14), 100)));

    assertThat(decide(config)).allSatisfy(d -> assertThat(d.abort()).contains(new AbortStatus.Grpc(14)));
  }

  @Test
  void touchesNoRequestWhenFaultPercentagesAre0() {
    FaultConfig config = new FaultConfig(
        Optional.of(new Delay(FIVE_SECONDS, 0)), Optional.of(new Abort(SERVICE_UNAVAILABLE, 0)));

    assertThat(decide(config)).allSatisfy(d -> assertThat(d).isSameAs(FaultDecision.NONE));
  }

  @Test
  void drawsDelayAndAbortIndependently() {
    FaultConfig config = new FaultConfig(
        Optional.of(new Delay(FIVE_SECONDS, 50)), Optional.of(new Abort(SERVICE_UNAVAILABLE, 50)));

    long both = decide(config).stream().filter(d -> d.delay().isPresent() && d.abort().isPresent()).count();

    assertThat(both).isBetween(2_300L, 2_700L);
  }

  @Test
  void honoursPercentagesToAMillionth() {
    FaultConfig config = new FaultConfig(Optional.empty(), Optional.of(new Abort(SERVICE_UNAVAILABLE, 0.0001)));
    RandomGenerator lowest = new FixedDraw(0);
    RandomGenerator secondLowest = new FixedDraw(1);

    assertThat(FaultInjector.decide(config, lowest).abort()).isPresent();
    assertThat(FaultInjector.decide(config, secondLowest).abort()).isEmpty();
  }

  @Test
  void decidesNothingWithoutFaults() {
    assertThat(FaultInjector.decide(FaultConfig.NONE, random)).isSameAs(FaultDecision.NONE);
  }

  @Test
  void rejectsPercentagesAndStatusesOutOfRangeQuotingTheValue() {
    assertThatThrownBy(() -> new Delay(FIVE_SECONDS, 100.5))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("100.5");
    assertThatThrownBy(() -> new Abort(SERVICE_UNAVAILABLE, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    assertThatThrownBy(() -> new AbortStatus.Http(700))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("700");
    assertThatThrownBy(() -> new AbortStatus.Grpc(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
  }

  private List<FaultDecision> decide(FaultConfig config) {
    List<FaultDecision> decisions = new ArrayList<>(DRAWS);
    for (int i = 0; i < DRAWS; i++) {
      decisions.add(FaultInjector.decide(config, random));
    }
    return decisions;
  }

  /** Always draws the same number, to probe the edge of a percentage. */
  private record FixedDraw(int value) implements RandomGenerator {
    @Override
    public long nextLong() {
      throw new UnsupportedOperationException();
    }

    @Override
    public int nextInt(int bound) {
      return value;
    }
  }
}
