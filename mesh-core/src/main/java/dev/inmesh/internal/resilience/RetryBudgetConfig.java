package dev.inmesh.internal.resilience;

/**
 * Envoy's {@code retry_budget}.
 *
 * @param budgetPercent retries in flight may be this share of requests in flight
 * @param minRetryConcurrency retries always allowed in flight, however few requests there are
 */
public record RetryBudgetConfig(double budgetPercent, int minRetryConcurrency) {
  public RetryBudgetConfig {
    if (!(budgetPercent >= 0 && budgetPercent <= 100)) {
      throw new IllegalArgumentException("budgetPercent must be between 0 and 100, got " + budgetPercent);
    }
    if (minRetryConcurrency < 0) {
      throw new IllegalArgumentException("minRetryConcurrency must be 0 or more, got " + minRetryConcurrency);
    }
  }

  /** Envoy's defaults: 20% and 3. */
  public static RetryBudgetConfig defaults() {
    return new RetryBudgetConfig(20.0, 3);
  }
}
