package dev.inmesh.internal.resilience;

import dev.inmesh.Ticker;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.OutlierEvent.Cause;
import java.time.Duration;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's consecutive-error outlier detection for one cluster: an endpoint that fails
 * {@code consecutive5xx} times in a row (or {@code consecutiveGatewayErrors} gateway errors in a
 * row) leaves the healthy set for {@code baseEjectionTime} times the number of times it has been
 * ejected, capped at Envoy's default {@code max_ejection_time} of 300 s (or the base, if longer).
 *
 * <p>Resilience4j's CircuitBreaker does not fit: it is a state machine over one protected call's
 * failure <em>rate</em> in a sliding window, opening and half-opening that call as a whole. Outlier
 * detection instead counts <em>consecutive</em> errors per host, removes one host among many while
 * the others keep serving, refuses to remove more than {@code maxEjectionPercent} of them, and
 * ejects repeat offenders for longer each time. A breaker per endpoint would have none of the
 * cluster-wide limits and a different trigger.
 *
 * <p>Envoy's choices kept here: every failure {@link Outcome} counts toward consecutive 5xx, since
 * Envoy maps local-origin failures (connect failure, reset, timeout) to 5xx unless
 * {@code split_external_local_origin_errors} is set, which Istio users rarely do. Gateway errors
 * are 502/503/504 and the same local-origin failures; any other 5xx breaks a run of them. A
 * success resets both counts, and so does the end of an ejection, so that a returning endpoint is
 * not thrown out again by one more error.
 *
 * <p>Where we differ from Envoy, on purpose:
 *
 * <ul>
 *   <li>One endpoint may always be ejected when none is, even above {@code maxEjectionPercent}
 *       (Envoy's {@code always_eject_one_host}; Envoy's docs promised this by default until it
 *       became that option, and gRPC's proxyless xDS clients, which share our meshes, still do
 *       it). Without it Istio's default of 10% ejects nothing in clusters of fewer than ten
 *       endpoints. {@code maxEjectionPercent} 0 ejects nothing at all.
 *   <li>Nothing runs in the background. An ejection ends exactly at its deadline, found when
 *       someone next asks, where Envoy waits for the next {@code interval} sweep. The sweep's other
 *       job, making the multiplier shrink by one for every interval an endpoint stays healthy
 *       after returning, is computed when the endpoint is next ejected.
 *   <li>Results for endpoints outside the set given to {@link #retainOnly} are ignored, as Envoy
 *       ignores results for removed hosts: a late response must not bring an endpoint back.
 * </ul>
 *
 * <p>Panic ({@link #panic()}) is reported, not acted on: {@link #isEjected} stays the truth about
 * ejections, and whoever answers a balancer's health question answers "healthy" for every
 * endpoint while the cluster is in panic, as Envoy's balancers do below the panic threshold.
 *
 * <p>The request path ({@link #record}, {@link #isEjected}, {@link #panic}) takes no lock and
 * allocates nothing unless an ejection starts or ends; those take one lock per detector.
 */
public final class OutlierDetector {
  private static final Logger log = LoggerFactory.getLogger(OutlierDetector.class);
  private static final long ENVOY_MAX_EJECTION_NANOS = Duration.ofSeconds(300).toNanos();

  private final OutlierDetectionConfig config;
  private final Ticker ticker;
  private final long baseNanos;
  private final long maxNanos;
  private final long intervalNanos;
  private final Map<Endpoint, HostState> hosts = new ConcurrentHashMap<>();
  private final List<Consumer<? super OutlierEvent>> consumers = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();
  /** Written under {@link #lock}; read without it. */
  private volatile int ejectedCount;
  /** The earliest deadline among ejected endpoints; meaningful only while ejectedCount > 0. */
  private volatile long nextReturnNanos;

  private OutlierDetector(OutlierDetectionConfig config, Ticker ticker) {
    this.config = Objects.requireNonNull(config, "config");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.baseNanos = config.baseEjectionTime().toNanos();
    this.maxNanos = Math.max(ENVOY_MAX_EJECTION_NANOS, baseNanos);
    this.intervalNanos = config.interval().toNanos();
  }

  public static OutlierDetector of(OutlierDetectionConfig config, Ticker ticker) {
    return new OutlierDetector(config, ticker);
  }

  public OutlierDetectionConfig config() {
    return config;
  }

  /** Consumers run on the thread that caused the event, under the detector's lock: keep them quick. */
  public void onEvent(Consumer<? super OutlierEvent> consumer) {
    consumers.add(Objects.requireNonNull(consumer, "consumer"));
  }

  /** Counts how one attempt against {@code endpoint} ended. */
  public void record(Endpoint endpoint, Outcome outcome) {
    Objects.requireNonNull(outcome, "outcome");
    HostState host = hosts.get(endpoint);
    if (host == null) {
      return;
    }
    switch (outcome) {
      case SUCCESS -> host.resetCounts();
      case SERVER_ERROR -> {
        HostState.reset(host.consecutiveGatewayErrors);
        count(endpoint, host, host.consecutive5xx, config.consecutive5xx(), Cause.CONSECUTIVE_5XX);
      }
      case GATEWAY_ERROR, CONNECT_FAILURE, RESET, TIMEOUT -> {
        // Envoy checks gateway errors first, so that cause wins when both runs end together.
        count(endpoint, host, host.consecutiveGatewayErrors, config.consecutiveGatewayErrors(),
            Cause.CONSECUTIVE_GATEWAY_ERRORS);
        count(endpoint, host, host.consecutive5xx, config.consecutive5xx(), Cause.CONSECUTIVE_5XX);
      }
    }
  }

  /** True while {@code endpoint} is ejected; an ejection that has run out ends here. */
  public boolean isEjected(Endpoint endpoint) {
    HostState host = hosts.get(endpoint);
    if (host == null || !host.ejected) {
      return false;
    }
    long now = ticker.nanoTime();
    if (now - host.untilNanos < 0) {
      return true;
    }
    synchronized (lock) {
      returnDue(now);
    }
    return false;
  }

  /**
   * True when fewer than {@code minHealthPercent} of the endpoints are healthy: Envoy's panic
   * mode, in which balancers pick among all endpoints, ejected or not.
   */
  public boolean panic() {
    int minHealthPercent = config.minHealthPercent();
    if (minHealthPercent == 0 || ejectedCount == 0) {
      return false;
    }
    long now = ticker.nanoTime();
    if (now - nextReturnNanos >= 0) {
      synchronized (lock) {
        returnDue(now);
      }
    }
    int total = hosts.size();
    return total > 0 && (long) (total - ejectedCount) * 100 < (long) minHealthPercent * total;
  }

  /** Endpoints ejected right now, for a gauge (Envoy's {@code ejections_active}). */
  public int ejectedCount() {
    if (ejectedCount > 0) {
      long now = ticker.nanoTime();
      if (now - nextReturnNanos >= 0) {
        synchronized (lock) {
          returnDue(now);
        }
      }
    }
    return ejectedCount;
  }

  /**
   * Makes {@code endpoints} the cluster: new ones start with a clean record, gone ones are
   * forgotten (and their ejection with them, without a {@link OutlierEvent.Returned}).
   */
  public void retainOnly(Collection<Endpoint> endpoints) {
    Set<Endpoint> members = Set.copyOf(endpoints);
    synchronized (lock) {
      Iterator<Map.Entry<Endpoint, HostState>> entries = hosts.entrySet().iterator();
      while (entries.hasNext()) {
        Map.Entry<Endpoint, HostState> entry = entries.next();
        if (!members.contains(entry.getKey())) {
          if (entry.getValue().ejected) {
            ejectedCount--;
          }
          entries.remove();
        }
      }
      for (Endpoint endpoint : members) {
        hosts.computeIfAbsent(endpoint, e -> new HostState());
      }
      updateNextReturn();
    }
  }

  private void count(Endpoint endpoint, HostState host, AtomicInteger counter, int threshold, Cause cause) {
    // Equality, not >=, as in Envoy: a run fires once, and counts past it while ejected are moot.
    if (threshold > 0 && counter.incrementAndGet() == threshold) {
      onOutlier(endpoint, host, counter, threshold, cause);
    }
  }

  private void onOutlier(Endpoint endpoint, HostState host, AtomicInteger counter, int consecutive, Cause cause) {
    synchronized (lock) {
      if (hosts.get(endpoint) != host) {
        return;
      }
      long now = ticker.nanoTime();
      returnDue(now);
      if (host.ejected) {
        return;
      }
      int total = hosts.size();
      if (mayEjectOneMore(total)) {
        eject(endpoint, host, now, consecutive, cause);
      } else {
        publish(new OutlierEvent.Skipped(endpoint, cause, ejectedCount, total));
      }
      counter.set(0);
    }
  }

  private boolean mayEjectOneMore(int total) {
    int maxPercent = config.maxEjectionPercent();
    if (maxPercent == 0) {
      return false;
    }
    return ejectedCount == 0 || (long) (ejectedCount + 1) * 100 <= (long) maxPercent * total;
  }

  private void eject(Endpoint endpoint, HostState host, long now, int consecutive, Cause cause) {
    if (host.hasReturned) {
      long healthyIntervals = (now - host.returnedAtNanos) / intervalNanos;
      host.multiplier = (int) Math.max(0, host.multiplier - healthyIntervals);
    }
    // Envoy stops growing the multiplier one step past the cap, so that it shrinks back quickly.
    if (saturatedTimes(baseNanos, host.multiplier) < maxNanos + baseNanos) {
      host.multiplier++;
    }
    long duration = Math.min(saturatedTimes(baseNanos, host.multiplier), maxNanos);
    host.untilNanos = now + duration;
    host.ejected = true;
    host.ejections++;
    ejectedCount++;
    updateNextReturn();
    publish(new OutlierEvent.Ejected(
        endpoint, host.untilNanos, consecutive, cause, host.ejections, Duration.ofNanos(duration)));
  }

  /** Ends every ejection whose deadline has passed. Holds {@link #lock}. */
  private void returnDue(long now) {
    if (ejectedCount == 0) {
      return;
    }
    for (Map.Entry<Endpoint, HostState> entry : hosts.entrySet()) {
      HostState host = entry.getValue();
      if (host.ejected && now - host.untilNanos >= 0) {
        host.ejected = false;
        host.hasReturned = true;
        host.returnedAtNanos = now;
        host.resetCounts();
        ejectedCount--;
        publish(new OutlierEvent.Returned(entry.getKey()));
      }
    }
    updateNextReturn();
  }

  private void updateNextReturn() {
    boolean found = false;
    long next = 0;
    for (HostState host : hosts.values()) {
      if (host.ejected && (!found || host.untilNanos - next < 0)) {
        next = host.untilNanos;
        found = true;
      }
    }
    nextReturnNanos = next;
  }

  private void publish(OutlierEvent event) {
    for (Consumer<? super OutlierEvent> consumer : consumers) {
      try {
        consumer.accept(event);
      } catch (RuntimeException e) {
        // A broken metrics or log subscriber must not break ejection for the requests behind it.
        log.warn("outlier event consumer failed on {}", event, e);
      }
    }
  }

  private static long saturatedTimes(long nanos, int times) {
    return times != 0 && nanos > Long.MAX_VALUE / times ? Long.MAX_VALUE : nanos * times;
  }

  /** One endpoint's record. Counters are lock-free; the rest is written under the lock. */
  private static final class HostState {
    final AtomicInteger consecutive5xx = new AtomicInteger();
    final AtomicInteger consecutiveGatewayErrors = new AtomicInteger();
    volatile boolean ejected;
    volatile long untilNanos;
    int multiplier;
    int ejections;
    boolean hasReturned;
    long returnedAtNanos;

    void resetCounts() {
      reset(consecutive5xx);
      reset(consecutiveGatewayErrors);
    }

    /** Reads first so that a stream of successes does not keep writing a shared cache line. */
    static void reset(AtomicInteger counter) {
      if (counter.get() != 0) {
        counter.set(0);
      }
    }
  }
}
