package dev.inmesh.internal.resilience;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Envoy's retry budget for one cluster: a retry may start while retries in flight are fewer than
 * {@code budgetPercent} of requests in flight (rounded down), or fewer than
 * {@code minRetryConcurrency}, whichever allows more. A budget scales with load where a fixed
 * {@code maxRetries} either starves a busy cluster of retries or lets a sick one be stormed.
 * Where a cluster has a budget, Envoy ignores its {@code maxRetries}; the pipeline does the same.
 *
 * <p>As in Envoy, "requests in flight" are upstream requests: call {@link #requestStarted()} and
 * {@link #requestDone()} around every attempt, retries included, and bracket each retry with
 * {@link #tryStartRetry()} and {@link #retryDone()} as well.
 */
public final class RetryBudget {
  private final RetryBudgetConfig config;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger retries = new AtomicInteger();

  private RetryBudget(RetryBudgetConfig config) {
    this.config = Objects.requireNonNull(config, "config");
  }

  public static RetryBudget of(RetryBudgetConfig config) {
    return new RetryBudget(config);
  }

  public RetryBudgetConfig config() {
    return config;
  }

  public void requestStarted() {
    requests.incrementAndGet();
  }

  public void requestDone() {
    decrement(requests, "requestDone() without a matching requestStarted()");
  }

  /** True, and one more retry in flight, if the budget allows it. */
  public boolean tryStartRetry() {
    for (int active = retries.get(); active < allowedRetries(); active = retries.get()) {
      if (retries.compareAndSet(active, active + 1)) {
        return true;
      }
    }
    return false;
  }

  public void retryDone() {
    decrement(retries, "retryDone() without a matching tryStartRetry()");
  }

  /** Retries that may be in flight right now. */
  public int allowedRetries() {
    int byPercent = (int) (config.budgetPercent() / 100 * requests.get());
    return Math.max(config.minRetryConcurrency(), byPercent);
  }

  public int activeRetries() {
    return retries.get();
  }

  public int activeRequests() {
    return requests.get();
  }

  private static void decrement(AtomicInteger counter, String misuse) {
    if (counter.decrementAndGet() < 0) {
      counter.incrementAndGet();
      throw new IllegalStateException(misuse);
    }
  }
}
