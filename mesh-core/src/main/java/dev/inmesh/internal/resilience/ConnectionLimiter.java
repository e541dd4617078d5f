package dev.inmesh.internal.resilience;

import dev.inmesh.internal.resilience.Admission.Limit;
import dev.inmesh.internal.resilience.Admission.Permit;
import dev.inmesh.internal.resilience.Admission.Refusal;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Envoy's circuit breaking for one cluster: at most {@code maxRequests} in flight, past which a
 * request is refused at once; at most {@code maxConnections} busy, since a request in flight holds
 * an HTTP/1.1 connection; at most {@code maxPendingRequests} waiting for a connection (Envoy's
 * pending requests: those waiting for a busy one to free up, and those waiting for a new one to be
 * made); at most {@code maxRetries} retries in flight. A refusal names the limit and its value,
 * because that text reaches the user.
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
  private int free; // connections, guarded by lock
  private int requests; // in flight, guarded by lock
  private int connecting; // guarded by lock
  private final AtomicInteger retries = new AtomicInteger();
  // Made once so that refusing, the overloaded case, allocates nothing.
  private final Refusal maxRequestsRefusal;
  private final Refusal maxConnectionsRefusal;
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
    this.free = limits.maxConnections();
    this.maxRequestsRefusal = new Refusal(Limit.MAX_REQUESTS, "max requests " + limits.maxRequests() + " in flight");
    this.maxConnectionsRefusal = new Refusal(Limit.MAX_CONNECTIONS, maxConnectionsMessage());
    this.maxPendingRefusal = new Refusal(Limit.MAX_PENDING_REQUESTS,
        "max pending " + limits.maxPendingRequests() + " waiting (" + maxConnectionsMessage() + ")");
  }

  public static ConnectionLimiter of(ConnectionLimits limits) {
    return new ConnectionLimiter(limits);
  }

  public ConnectionLimits limits() {
    return limits;
  }

  /** A permit if a request slot and a connection are free now, else a refusal; never waits. */
  public Admission tryAcquire() {
    return acquire(Duration.ZERO);
  }

  /**
   * A permit if a slot is free now or frees up within {@code maxWait}, else a refusal. Returns at
   * once when the wait is zero or {@code maxPendingRequests} requests are already waiting.
   */
  public Admission acquire(Duration maxWait) {
    Objects.requireNonNull(maxWait, "maxWait");
    lock.lock();
    try {
      if (requests >= limits.maxRequests()) {
        return maxRequestsRefusal;
      }
      if (tryTake()) {
        return new Permit(this);
      }
      if (maxWait.isZero() || maxWait.isNegative()) {
        return maxConnectionsRefusal;
      }
      if (waiters.size() + connecting >= limits.maxPendingRequests()) {
        return maxPendingRefusal;
      }
      Waiter waiter = new Waiter(lock.newCondition());
      waiters.addLast(waiter);
      long nanos = saturatedNanos(maxWait);
      try {
        while (!waiter.hasSlot) {
          if (nanos <= 0) {
            waiters.remove(waiter);
            return new Refusal(Limit.MAX_CONNECTIONS, maxConnectionsMessage() + ", waited " + maxWait.toMillis() + " ms");
          }
          nanos = waiter.granted.awaitNanos(nanos);
        }
        return new Permit(this);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (waiter.hasSlot) {
          requests--;
          handOn();
        } else {
          waiters.remove(waiter);
        }
        return new Refusal(Limit.MAX_CONNECTIONS, maxConnectionsMessage() + ", interrupted while waiting");
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * A request that holds a slot but must wait for a new connection to be made is pending until it
   * is connected, as in Envoy, where a request is pending until a connection is ready for it: the
   * transport calls this before it connects, and {@link #connected()} once it is. Empty when the
   * request may connect; the {@code maxPendingRequests} refusal when that many already wait.
   */
  public Optional<Refusal> startConnecting() {
    lock.lock();
    try {
      if (waiters.size() + connecting >= limits.maxPendingRequests()) {
        return Optional.of(maxPendingRefusal);
      }
      connecting++;
      return Optional.empty();
    } finally {
      lock.unlock();
    }
  }

  /** The request that {@link #startConnecting() started connecting} has its connection, or gave up. */
  public void connected() {
    lock.lock();
    try {
      if (connecting == 0) {
        throw new IllegalStateException("connected() without a matching startConnecting()");
      }
      connecting--;
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

  /** Requests in flight. */
  public int activeRequests() {
    lock.lock();
    try {
      return requests;
    } finally {
      lock.unlock();
    }
  }

  /** Connections busy with a request in flight. */
  public int busyConnections() {
    lock.lock();
    try {
      return limits.maxConnections() - free;
    } finally {
      lock.unlock();
    }
  }

  /** Requests waiting for a slot, and those with a slot waiting for their new connection. */
  public int pendingRequests() {
    lock.lock();
    try {
      return waiters.size() + connecting;
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
      requests--;
      handOn();
    } finally {
      lock.unlock();
    }
  }

  /**
   * A connection that is no longer busy goes to the first waiter, with a request slot (the one
   * just given back), or back to the free ones. Under the lock.
   */
  private void handOn() {
    Waiter next = waiters.pollFirst();
    if (next == null) {
      free++;
    } else {
      requests++;
      next.hasSlot = true;
      next.granted.signal();
    }
  }

  /** Under the lock; a new request does not take a connection while others wait for one. */
  private boolean tryTake() {
    if (free > 0 && waiters.isEmpty()) {
      free--;
      requests++;
      return true;
    }
    return false;
  }

  private String maxConnectionsMessage() {
    return "max connections " + limits.maxConnections() + " in use";
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
