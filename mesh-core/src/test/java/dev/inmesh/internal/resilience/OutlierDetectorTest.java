package dev.inmesh.internal.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.OutlierEvent.Cause;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class OutlierDetectorTest {
  private static final Duration BASE = Duration.ofSeconds(30);

  private final FakeTicker ticker = new FakeTicker();
  private final List<OutlierEvent> events = new ArrayList<>();

  @Test
  void ejectsAfterFiveConsecutive5xxAndReturnsAfterTheBaseEjectionTime() {
    OutlierDetector detector = detector(config(5, 0, 100, 0), 3);
    Endpoint a = endpoint(0);

    fail(detector, a, Outcome.SERVER_ERROR, 4);
    assertThat(detector.isEjected(a)).isFalse();
    detector.record(a, Outcome.SERVER_ERROR);
    assertThat(detector.isEjected(a)).isTrue();
    assertThat(events).singleElement().isInstanceOfSatisfying(OutlierEvent.Ejected.class, ejected -> {
      assertThat(ejected.endpoint()).isEqualTo(a);
      assertThat(ejected.consecutive()).isEqualTo(5);
      assertThat(ejected.cause()).isEqualTo(Cause.CONSECUTIVE_5XX);
      assertThat(ejected.duration()).isEqualTo(BASE);
      assertThat(ejected.untilNanos()).isEqualTo(ticker.nanoTime() + BASE.toNanos());
    });

    ticker.advance(BASE.minusNanos(1));
    assertThat(detector.isEjected(a)).isTrue();
    ticker.advance(Duration.ofNanos(1));
    assertThat(detector.isEjected(a)).isFalse();
    assertThat(events).last().isEqualTo(new OutlierEvent.Returned(a));
  }

  @Test
  void ejectsForLongerEachTimeItIsEjectedAgain() {
    OutlierDetector detector = detector(config(2, 0, 100, 0), 3);
    Endpoint a = endpoint(0);

    fail(detector, a, Outcome.SERVER_ERROR, 2);
    ticker.advance(BASE);
    assertThat(detector.isEjected(a)).isFalse();

    fail(detector, a, Outcome.SERVER_ERROR, 2);
    ticker.advance(BASE);
    assertThat(detector.isEjected(a)).as("second ejection lasts twice the base").isTrue();
    ticker.advance(BASE);
    assertThat(detector.isEjected(a)).isFalse();

    fail(detector, a, Outcome.SERVER_ERROR, 2);
    assertThat(ejections()).extracting(OutlierEvent.Ejected::duration, OutlierEvent.Ejected::ejections)
        .containsExactly(
            tuple(BASE, 1),
            tuple(BASE.multipliedBy(2), 2),
            tuple(BASE.multipliedBy(3), 3));
  }

  @Test
  void capsTheEjectionAtEnvoysMaxEjectionTime() {
    OutlierDetector detector = detector(config(1, 0, 100, 0), 3);
    Endpoint a = endpoint(0);

    for (int i = 0; i < 15; i++) {
      detector.record(a, Outcome.SERVER_ERROR);
      ticker.advance(Duration.ofSeconds(300));
      assertThat(detector.isEjected(a)).isFalse();
    }

    assertThat(ejections()).last().extracting(OutlierEvent.Ejected::duration).isEqualTo(Duration.ofSeconds(300));
  }

  @Test
  void earnsBackAShorterEjectionByStayingHealthyForIntervals() {
    OutlierDetector detector = detector(config(1, 0, 100, 0), 3);
    Endpoint a = endpoint(0);
    detector.record(a, Outcome.SERVER_ERROR);
    ticker.advance(BASE);
    detector.record(a, Outcome.SERVER_ERROR);
    ticker.advance(BASE.multipliedBy(2));
    assertThat(detector.isEjected(a)).isFalse();

    ticker.advance(Duration.ofSeconds(10)); // one healthy interval takes one step off
    detector.record(a, Outcome.SERVER_ERROR);

    assertThat(ejections()).last().extracting(OutlierEvent.Ejected::duration).isEqualTo(BASE.multipliedBy(2));
  }

  @Test
  void aSuccessResetsTheConsecutiveCount() {
    OutlierDetector detector = detector(config(5, 0, 100, 0), 3);
    Endpoint a = endpoint(0);

    fail(detector, a, Outcome.SERVER_ERROR, 4);
    detector.record(a, Outcome.SUCCESS);
    fail(detector, a, Outcome.SERVER_ERROR, 4);

    assertThat(detector.isEjected(a)).isFalse();
    detector.record(a, Outcome.SERVER_ERROR);
    assertThat(detector.isEjected(a)).isTrue();
  }

  @Test
  void countsLocalOriginFailuresAndGatewayErrorsAs5xx() {
    OutlierDetector detector = detector(config(5, 0, 100, 0), 3);
    Endpoint a = endpoint(0);

    for (Outcome outcome : List.of(Outcome.SERVER_ERROR, Outcome.GATEWAY_ERROR, Outcome.CONNECT_FAILURE,
        Outcome.RESET, Outcome.TIMEOUT)) {
      detector.record(a, outcome);
    }

    assertThat(detector.isEjected(a)).isTrue();
  }

  @Test
  void countsOnlyGatewayErrorsAndLocalOriginFailuresTowardConsecutiveGatewayErrors() {
    OutlierDetector detector = detector(config(0, 4, 100, 0), 3);
    Endpoint a = endpoint(0);

    detector.record(a, Outcome.GATEWAY_ERROR);
    detector.record(a, Outcome.CONNECT_FAILURE);
    detector.record(a, Outcome.RESET);
    detector.record(a, Outcome.SERVER_ERROR); // a plain 500 breaks the run, as in Envoy
    detector.record(a, Outcome.TIMEOUT);
    assertThat(detector.isEjected(a)).isFalse();

    fail(detector, a, Outcome.SERVER_ERROR, 20);
    assertThat(detector.isEjected(a)).as("consecutive 5xx is off").isFalse();

    detector.record(a, Outcome.GATEWAY_ERROR);
    detector.record(a, Outcome.CONNECT_FAILURE);
    detector.record(a, Outcome.RESET);
    detector.record(a, Outcome.TIMEOUT);
    assertThat(detector.isEjected(a)).isTrue();
    assertThat(ejections()).singleElement().extracting(OutlierEvent.Ejected::cause)
        .isEqualTo(Cause.CONSECUTIVE_GATEWAY_ERRORS);
  }

  @Test
  void neverEjectsMoreThanMaxEjectionPercent() {
    OutlierDetector detector = detector(config(1, 0, 20, 0), 10);

    for (int i = 0; i < 10; i++) {
      detector.record(endpoint(i), Outcome.SERVER_ERROR);
    }

    assertThat(IntStream.range(0, 10).filter(i -> detector.isEjected(endpoint(i)))).containsExactly(0, 1);
    assertThat(detector.ejectedCount()).isEqualTo(2);
    assertThat(events).filteredOn(OutlierEvent.Skipped.class::isInstance).hasSize(8)
        .first().isEqualTo(new OutlierEvent.Skipped(endpoint(2), Cause.CONSECUTIVE_5XX, 2, 10));
  }

  @Test
  void ejectsOneEndpointEvenWhenThatIsMoreThanMaxEjectionPercent() {
    OutlierDetector detector = detector(config(1, 0, 10, 0), 3);

    detector.record(endpoint(0), Outcome.SERVER_ERROR);
    detector.record(endpoint(1), Outcome.SERVER_ERROR);

    assertThat(detector.isEjected(endpoint(0))).isTrue();
    assertThat(detector.isEjected(endpoint(1))).isFalse();
  }

  @Test
  void ejectsNothingWhenMaxEjectionPercentIsZero() {
    OutlierDetector detector = detector(config(1, 0, 0, 0), 3);

    detector.record(endpoint(0), Outcome.SERVER_ERROR);

    assertThat(detector.isEjected(endpoint(0))).isFalse();
    assertThat(events).singleElement().isInstanceOf(OutlierEvent.Skipped.class);
  }

  @Test
  void anEndpointSkippedForTheLimitNeedsAFullRunAgain() {
    OutlierDetector detector = detector(config(2, 0, 50, 0), 2);
    fail(detector, endpoint(0), Outcome.SERVER_ERROR, 2);
    fail(detector, endpoint(1), Outcome.SERVER_ERROR, 2); // skipped: would be 100%
    ticker.advance(BASE);
    assertThat(detector.isEjected(endpoint(0))).isFalse();

    detector.record(endpoint(1), Outcome.SERVER_ERROR);
    assertThat(detector.isEjected(endpoint(1))).isFalse();
    detector.record(endpoint(1), Outcome.SERVER_ERROR);
    assertThat(detector.isEjected(endpoint(1))).isTrue();
  }

  @Test
  void entersPanicWhenTheHealthyShareFallsBelowMinHealthPercent() {
    OutlierDetector detector = detector(config(1, 0, 100, 50), 4);

    detector.record(endpoint(0), Outcome.SERVER_ERROR);
    detector.record(endpoint(1), Outcome.SERVER_ERROR);
    assertThat(detector.panic()).as("2 of 4 healthy is not below 50%").isFalse();

    detector.record(endpoint(2), Outcome.SERVER_ERROR);
    assertThat(detector.panic()).isTrue();

    ticker.advance(BASE);
    assertThat(detector.panic()).isFalse();
    assertThat(detector.ejectedCount()).isZero();
  }

  @Test
  void neverPanicsWhenMinHealthPercentIsZero() {
    OutlierDetector detector = detector(config(1, 0, 100, 0), 2);

    detector.record(endpoint(0), Outcome.SERVER_ERROR);
    detector.record(endpoint(1), Outcome.SERVER_ERROR);

    assertThat(detector.ejectedCount()).isEqualTo(2);
    assertThat(detector.panic()).isFalse();
  }

  @Test
  void forgetsEndpointsThatLeaveAndIgnoresResultsForThem() {
    OutlierDetector detector = detector(config(1, 0, 100, 0), 2);
    detector.record(endpoint(0), Outcome.SERVER_ERROR);

    detector.retainOnly(List.of(endpoint(1), endpoint(2)));
    detector.record(endpoint(0), Outcome.SERVER_ERROR);

    assertThat(detector.isEjected(endpoint(0))).isFalse();
    assertThat(detector.ejectedCount()).isZero();
    detector.record(endpoint(2), Outcome.SERVER_ERROR);
    assertThat(detector.isEjected(endpoint(2))).isTrue();
  }

  @Test
  void startsAReturningEndpointWithACleanCount() {
    OutlierDetector detector = detector(config(3, 0, 100, 0), 3);
    Endpoint a = endpoint(0);
    fail(detector, a, Outcome.SERVER_ERROR, 3);
    fail(detector, a, Outcome.SERVER_ERROR, 2); // answers still in flight when it was ejected
    ticker.advance(BASE);
    assertThat(detector.isEjected(a)).isFalse();

    detector.record(a, Outcome.SERVER_ERROR);

    assertThat(detector.isEjected(a)).isFalse();
  }

  @Test
  void keepsEjectingWhenAnEventConsumerThrows() {
    OutlierDetector detector = detector(config(1, 0, 100, 0), 3);
    detector.onEvent(event -> {
      throw new IllegalStateException("broken subscriber");
    });

    detector.record(endpoint(0), Outcome.SERVER_ERROR);

    assertThat(detector.isEjected(endpoint(0))).isTrue();
    assertThat(events).hasSize(1);
  }

  @Test
  void defaultsAreEnvoys() {
    assertThat(OutlierDetectionConfig.defaults()).isEqualTo(
        new OutlierDetectionConfig(5, 0, Duration.ofSeconds(10), Duration.ofSeconds(30), 10, 50));
  }

  @Test
  void rejectsPercentagesOutsideZeroToHundredQuotingTheValue() {
    assertThatThrownBy(() -> config(5, 0, 101, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxEjectionPercent").hasMessageContaining("101");
    assertThatThrownBy(() -> config(5, 0, 10, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("minHealthPercent").hasMessageContaining("-1");
    assertThatThrownBy(() -> new OutlierDetectionConfig(5, 0, Duration.ZERO, BASE, 10, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("interval");
  }

  private OutlierDetector detector(OutlierDetectionConfig config, int endpoints) {
    OutlierDetector detector = OutlierDetector.of(config, ticker);
    detector.retainOnly(IntStream.range(0, endpoints).mapToObj(OutlierDetectorTest::endpoint).toList());
    detector.onEvent(events::add);
    return detector;
  }

  private List<OutlierEvent.Ejected> ejections() {
    return events.stream()
        .filter(OutlierEvent.Ejected.class::isInstance)
        .map(OutlierEvent.Ejected.class::cast)
        .toList();
  }

  private static OutlierDetectionConfig config(int consecutive5xx, int gatewayErrors, int maxEjectionPercent,
      int minHealthPercent) {
    return new OutlierDetectionConfig(
        consecutive5xx, gatewayErrors, Duration.ofSeconds(10), BASE, maxEjectionPercent, minHealthPercent);
  }

  private static void fail(OutlierDetector detector, Endpoint endpoint, Outcome outcome, int times) {
    for (int i = 0; i < times; i++) {
      detector.record(endpoint, outcome);
    }
  }

  private static Endpoint endpoint(int i) {
    return Endpoint.of("10.0.0." + (i + 1), 8080);
  }
}
