package dev.inmesh.resilience;

import dev.inmesh.resilience.Admission.Limit;
import dev.inmesh.resilience.Admission.Permit;
import dev.inmesh.resilience.Admission.Refusal;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Envoy's circuit breaking for one cluster: at most {@code maxRequests} in flight and, since a
 * request in flight holds an HTTP/1.1 connection, at most {@code maxConnections}; at most
 * {@code maxPendingRequests} waiting for one of those slots (Envoy's pending requests, which wait
 * for a connection); at most {@code maxRetries} retries in flight. A refusal names the limit and
 * its value, because that text reaches the user.
 *
 * <p>Not Resilience4j's {@code SemaphoreBulkhead}, though it is the same semaphore underneath: its
 * wait is one {@code maxWaitDuration} per bulkhead, where each request here waits at most what is
 * left of its own deadline; it does not bound the number of waiters, which is exactly Envoy's
 * {@code max_pending_requests}; and it refuses with an exception, where the pipeline wants a value
 * it can turn into a 503 with the reason.
 *
 * <p>Waiters are served first come, first served: a new request does not take a freed slot while
 * others wait for it.
 */
public final class ConnectionLimiter {
  private final ConnectionLimits limits;
  private final Semaphore requests;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger retries = new AtomicInteger();
  // Made once so that refusing, the overloaded case, allocates nothing.
  private final Refusal maxRequestsRefusal;
  private final Refusal maxPendingRefusal;

  private ConnectionLimiter(ConnectionLimits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
    this.requests = new Semaphore(slots(limits), true);
    this.maxRequestsRefusal = new Refusal(bindingLimit(), maxRequestsMessage());
    this.maxPendingRefusal = new Refusal(Limit.MAX_PENDING_REQUESTS,
        "max pending " + limits.maxPendingRequests() + " waiting (" + maxRequestsMessage() + ")");
  }

  public static ConnectionLimiter of(ConnectionLimits limits) {
    return new ConnectionLimiter(limits);
  }

  public ConnectionLimits limits() {
    return limits;
  }

  /** A permit if a slot is free now, else the {@code maxRequests} refusal; never waits. */
  public Admission tryAcquire() {
    return tryTake() ? new Permit(this) : maxRequestsRefusal;
  }

  /**
   * A permit if a slot is free now or frees up within {@code maxWait}, else a refusal. Returns at
   * once when the wait is zero or {@code maxPendingRequests} requests are already waiting.
   */
  public Admission acquire(Duration maxWait) {
    Objects.requireNonNull(maxWait, "maxWait");
    if (tryTake()) {
      return new Permit(this);
    }
    if (maxWait.isZero() || maxWait.isNegative()) {
      return maxRequestsRefusal;
    }
    if (!enterPending()) {
      return maxPendingRefusal;
    }
    try {
      if (requests.tryAcquire(saturatedNanos(maxWait), TimeUnit.NANOSECONDS)) {
        return new Permit(this);
      }
      return new Refusal(bindingLimit(), maxRequestsMessage() + ", waited " + maxWait.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Refusal(bindingLimit(), maxRequestsMessage() + ", interrupted while waiting");
    } finally {
      pending.decrementAndGet();
    }
  }

  /** Takes a retry slot if fewer than {@code maxRetries} retries are in flight. */
  public boolean tryAcquireRetry() {
    int max = limits.maxRetries();
    for (int active = retries.get(); active < max; active = retries.get()) {
      if (retries.compareAndSet(active, active + 1)) {
        return true;
      }
    }
    return false;
  }

  public void releaseRetry() {
    if (retries.decrementAndGet() < 0) {
      retries.incrementAndGet();
      throw new IllegalStateException("releaseRetry() without a matching tryAcquireRetry()");
    }
  }

  /** Requests in flight, each holding one of the {@code min(maxRequests, maxConnections)} slots. */
  public int activeRequests() {
    return slots(limits) - requests.availablePermits();
  }

  public int pendingRequests() {
    return pending.get();
  }

  public int activeRetries() {
    return retries.get();
  }

  void release() {
    requests.release();
  }

  private boolean tryTake() {
    // The untimed tryAcquire barges even on a fair semaphore; don't jump the queue.
    return !requests.hasQueuedThreads() && requests.tryAcquire();
  }

  private boolean enterPending() {
    int max = limits.maxPendingRequests();
    for (int waiting = pending.get(); waiting < max; waiting = pending.get()) {
      if (pending.compareAndSet(waiting, waiting + 1)) {
        return true;
      }
    }
    return false;
  }

  private String maxRequestsMessage() {
    return bindingLimit() == Limit.MAX_CONNECTIONS
        ? "max connections " + limits.maxConnections() + " in use"
        : "max requests " + limits.maxRequests() + " in flight";
  }

  /** Which limit a request in flight runs into first; at a tie, {@code maxRequests}. */
  private Limit bindingLimit() {
    return limits.maxConnections() < limits.maxRequests() ? Limit.MAX_CONNECTIONS : Limit.MAX_REQUESTS;
  }

  private static int slots(ConnectionLimits limits) {
    return Math.min(limits.maxRequests(), limits.maxConnections());
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
