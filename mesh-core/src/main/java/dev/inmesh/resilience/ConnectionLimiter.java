package dev.inmesh.resilience;

import dev.inmesh.resilience.Admission.Limit;
import dev.inmesh.resilience.Admission.Permit;
import dev.inmesh.resilience.Admission.Refusal;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Envoy's circuit breaking for one cluster: at most {@code maxRequests} in flight and, since a
 * request in flight holds an HTTP/1.1 connection, at most {@code maxConnections}; at most
 * {@code maxPendingRequests} waiting for one of those slots (Envoy's pending requests, which wait
 * for a connection); at most {@code maxRetries} retries in flight. A refusal names the limit and
 * its value, because that text reaches the user.
 *
 * <p>Not Resilience4j's {@code SemaphoreBulkhead}: its wait is one {@code maxWaitDuration} per
 * bulkhead, where each request here waits at most what is left of its own deadline; it does not
 * bound the number of waiters, which is exactly Envoy's {@code max_pending_requests}; and it
 * refuses with an exception, where the pipeline wants a value it can turn into a 503 with the
 * reason.
 *
 * <p>Waiters are served first come, first served, and a freed slot goes straight to the first of
 * them, as Envoy attaches a pending request to the connection that frees up: from that moment it
 * is in flight and no longer pending, so the next request finds its place in the queue.
 */
public final class ConnectionLimiter {
  private final ConnectionLimits limits;
  private final ReentrantLock lock = new ReentrantLock();
  private final Deque<Waiter> waiters = new ArrayDeque<>(); // guarded by lock
  private int free; // guarded by lock
  private final AtomicInteger retries = new AtomicInteger();
  // Made once so that refusing, the overloaded case, allocates nothing.
  private final Refusal maxRequestsRefusal;
  private final Refusal maxPendingRefusal;

  /** A request waiting for a slot; {@code granted} is set, under the lock, by the release that hands it one. */
  private static final class Waiter {
    final Condition granted;
    boolean hasSlot;

    Waiter(Condition granted) {
      this.granted = granted;
    }
  }

  private ConnectionLimiter(ConnectionLimits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
    this.free = slots(limits);
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
    lock.lock();
    try {
      return tryTake() ? new Permit(this) : maxRequestsRefusal;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A permit if a slot is free now or frees up within {@code maxWait}, else a refusal. Returns at
   * once when the wait is zero or {@code maxPendingRequests} requests are already waiting.
   */
  public Admission acquire(Duration maxWait) {
    Objects.requireNonNull(maxWait, "maxWait");
    lock.lock();
    try {
      if (tryTake()) {
        return new Permit(this);
      }
      if (maxWait.isZero() || maxWait.isNegative()) {
        return maxRequestsRefusal;
      }
      if (waiters.size() >= limits.maxPendingRequests()) {
        return maxPendingRefusal;
      }
      Waiter waiter = new Waiter(lock.newCondition());
      waiters.addLast(waiter);
      long nanos = saturatedNanos(maxWait);
      try {
        while (!waiter.hasSlot) {
          if (nanos <= 0) {
            waiters.remove(waiter);
            return new Refusal(bindingLimit(), maxRequestsMessage() + ", waited " + maxWait.toMillis() + " ms");
          }
          nanos = waiter.granted.awaitNanos(nanos);
        }
        return new Permit(this);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (waiter.hasSlot) {
          handOn();
        } else {
          waiters.remove(waiter);
        }
        return new Refusal(bindingLimit(), maxRequestsMessage() + ", interrupted while waiting");
      }
    } finally {
      lock.unlock();
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
    lock.lock();
    try {
      return slots(limits) - free;
    } finally {
      lock.unlock();
    }
  }

  public int pendingRequests() {
    lock.lock();
    try {
      return waiters.size();
    } finally {
      lock.unlock();
    }
  }

  public int activeRetries() {
    return retries.get();
  }

  void release() {
    lock.lock();
    try {
      handOn();
    } finally {
      lock.unlock();
    }
  }

  /** A slot that is no longer used goes to the first waiter, or back to the free ones. Under the lock. */
  private void handOn() {
    Waiter next = waiters.pollFirst();
    if (next == null) {
      free++;
    } else {
      next.hasSlot = true;
      next.granted.signal();
    }
  }

  /** Under the lock; a new request does not take a slot while others wait for one. */
  private boolean tryTake() {
    if (free > 0 && waiters.isEmpty()) {
      free--;
      return true;
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
