package dev.inmesh.internal.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RetryBudgetTest {

  @Test
  void allowsMinRetryConcurrencyRetriesWhenFewRequestsAreInFlight() {
    RetryBudget budget = RetryBudget.of(RetryBudgetConfig.defaults());
    budget.requestStarted();

    assertThat(budget.tryStartRetry()).isTrue();
    assertThat(budget.tryStartRetry()).isTrue();
    assertThat(budget.tryStartRetry()).isTrue();
    assertThat(budget.tryStartRetry()).isFalse();
  }

  @Test
  void allowsBudgetPercentOfRequestsInFlightWhenThatIsMore() {
    RetryBudget budget = RetryBudget.of(RetryBudgetConfig.defaults());
    for (int i = 0; i < 100; i++) {
      budget.requestStarted();
    }

    int started = 0;
    while (budget.tryStartRetry()) {
      started++;
    }

    assertThat(started).isEqualTo(20);
  }

  @Test
  void roundsThePercentageDown() {
    RetryBudget budget = RetryBudget.of(new RetryBudgetConfig(20.0, 0));
    for (int i = 0; i < 9; i++) {
      budget.requestStarted();
    }

    assertThat(budget.allowedRetries()).isEqualTo(1);
  }

  @Test
  void aFinishedRetryMakesRoomForAnother() {
    RetryBudget budget = RetryBudget.of(new RetryBudgetConfig(20.0, 1));

    assertThat(budget.tryStartRetry()).isTrue();
    assertThat(budget.tryStartRetry()).isFalse();
    budget.retryDone();
    assertThat(budget.tryStartRetry()).isTrue();
  }

  @Test
  void shrinksAsRequestsFinish() {
    RetryBudget budget = RetryBudget.of(new RetryBudgetConfig(50.0, 0));
    for (int i = 0; i < 4; i++) {
      budget.requestStarted();
    }
    assertThat(budget.allowedRetries()).isEqualTo(2);

    budget.requestDone();
    budget.requestDone();

    assertThat(budget.allowedRetries()).isEqualTo(1);
  }

  @Test
  void refusesEveryRetryWhenBothAreZero() {
    RetryBudget budget = RetryBudget.of(new RetryBudgetConfig(0, 0));
    budget.requestStarted();

    assertThat(budget.tryStartRetry()).isFalse();
  }

  @Test
  void failsFastOnUnmatchedDoneCalls() {
    RetryBudget budget = RetryBudget.of(RetryBudgetConfig.defaults());

    assertThatThrownBy(budget::retryDone).isInstanceOf(IllegalStateException.class).hasMessageContaining("tryStartRetry");
    assertThatThrownBy(budget::requestDone).isInstanceOf(IllegalStateException.class).hasMessageContaining("requestStarted");
    assertThat(budget.activeRetries()).isZero();
    assertThat(budget.activeRequests()).isZero();
  }

  @Test
  void rejectsABudgetOutsideZeroToHundredQuotingTheValue() {
    assertThatThrownBy(() -> new RetryBudgetConfig(120.5, 3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("120.5");
    assertThatThrownBy(() -> new RetryBudgetConfig(Double.NaN, 3)).isInstanceOf(IllegalArgumentException.class);
  }
}
