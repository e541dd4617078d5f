package dev.inmesh.internal.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.inmesh.internal.resilience.Admission.Limit;
import dev.inmesh.internal.resilience.Admission.Permit;
import dev.inmesh.internal.resilience.Admission.Refusal;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ConnectionLimiterTest {
  /** A guard against hanging, not a measurement: refusals under test must not wait at all. */
  private static final Duration HANG = Duration.ofSeconds(30);

  private final ExecutorService executor = Executors.newCachedThreadPool();

  @AfterEach
  void shutDown() {
    executor.shutdownNow();
  }

  @Test
  void refusesTheRequestOverMaxRequestsNamingTheLimit() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1024, 0, 10, 3));
    for (int i = 0; i < 10; i++) {
      assertThat(limiter.tryAcquire()).isInstanceOf(Permit.class);
    }

    Admission refused = limiter.tryAcquire();

    assertThat(refused).isInstanceOfSatisfying(Refusal.class, refusal -> {
      assertThat(refusal.limit()).isEqualTo(Limit.MAX_REQUESTS);
      assertThat(refusal.message()).isEqualTo("max requests 10 in flight");
    });
    assertThat(limiter.activeRequests()).isEqualTo(10);
  }

  @Test
  void refusesAtOnceWhenMaxPendingIsZeroEvenIfTheCallerWouldWait() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1, 0, 1024, 3));
    limiter.tryAcquire();

    Admission refused = assertTimeoutPreemptively(HANG, () -> limiter.acquire(Duration.ofHours(1)));

    assertThat(refused).isInstanceOfSatisfying(Refusal.class, refusal -> {
      assertThat(refusal.limit()).isEqualTo(Limit.MAX_PENDING_REQUESTS);
      assertThat(refusal.message()).startsWith("max pending 0").contains("max connections 1 in use");
    });
  }

  @Test
  void refusesARequestOverMaxRequestsAtOnceEvenIfItWouldWait() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1024, 10, 1, 3));
    limiter.tryAcquire();

    Admission refused = assertTimeoutPreemptively(HANG, () -> limiter.acquire(Duration.ofHours(1)));

    assertThat(refused).isInstanceOfSatisfying(Refusal.class, refusal -> assertThat(refusal.limit()).isEqualTo(Limit.MAX_REQUESTS));
    assertThat(limiter.pendingRequests()).isZero();
  }

  @Test
  void releasesTheSlotWhenThePermitIsClosedAndOnlyOnce() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1024, 0, 2, 3));
    Permit first = (Permit) limiter.tryAcquire();
    limiter.tryAcquire();
    assertThat(limiter.tryAcquire()).isInstanceOf(Refusal.class);

    first.close();
    first.close();

    assertThat(limiter.activeRequests()).isEqualTo(1);
    assertThat(limiter.tryAcquire()).isInstanceOf(Permit.class);
    assertThat(limiter.tryAcquire()).isInstanceOf(Refusal.class);
  }

  @Test
  void aWaitingRequestGetsTheSlotThatIsReleased() throws Exception {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1, 1, 1024, 3));
    Permit held = (Permit) limiter.tryAcquire();

    Future<Admission> waiter = executor.submit(() -> limiter.acquire(Duration.ofHours(1)));
    awaitPending(limiter, 1);
    held.close();

    assertThat(waiter.get()).isInstanceOf(Permit.class);
    assertThat(limiter.pendingRequests()).isZero();
  }

  @Test
  void refusesWaitersBeyondMaxPending() throws Exception {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1, 1, 1024, 3));
    Permit held = (Permit) limiter.tryAcquire();
    Future<Admission> waiter = executor.submit(() -> limiter.acquire(Duration.ofHours(1)));
    awaitPending(limiter, 1);

    Admission refused = assertTimeoutPreemptively(HANG, () -> limiter.acquire(Duration.ofHours(1)));

    assertThat(refused).isInstanceOfSatisfying(Refusal.class,
        refusal -> assertThat(refusal.message()).startsWith("max pending 1 waiting"));
    held.close();
    assertThat(waiter.get()).isInstanceOf(Permit.class);
  }

  @Test
  void saysHowLongItWaitedWhenNoSlotFreedUp() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1, 1, 1024, 3));
    limiter.tryAcquire();

    Admission refused = limiter.acquire(Duration.ofMillis(1));

    assertThat(refused).isInstanceOfSatisfying(Refusal.class, refusal -> {
      assertThat(refusal.limit()).isEqualTo(Limit.MAX_CONNECTIONS);
      assertThat(refusal.message()).isEqualTo("max connections 1 in use, waited 1 ms");
    });
    assertThat(limiter.pendingRequests()).isZero();
  }

  @Test
  void limitsConcurrentRetriesToMaxRetries() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1024, 0, 10, 2));

    assertThat(limiter.tryAcquireRetry()).isTrue();
    assertThat(limiter.tryAcquireRetry()).isTrue();
    assertThat(limiter.tryAcquireRetry()).isFalse();
    limiter.releaseRetry();
    assertThat(limiter.tryAcquireRetry()).isTrue();
    assertThat(limiter.activeRetries()).isEqualTo(2);
  }

  @Test
  void failsFastOnAReleaseWithoutAnAcquire() {
    ConnectionLimiter limiter = ConnectionLimiter.of(ConnectionLimits.defaults());

    assertThatThrownBy(limiter::releaseRetry).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("tryAcquireRetry");
    assertThat(limiter.activeRetries()).isZero();
  }

  @Test
  void maxConnectionsBoundsRequestsInFlightAndTheRestWaitAsPendingRequests() throws Exception {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1, 1, 1024, 3));
    Permit held = (Permit) limiter.acquire(Duration.ofHours(1));
    Future<Admission> waiter = executor.submit(() -> limiter.acquire(Duration.ofHours(1)));
    awaitPending(limiter, 1);

    Admission refused = assertTimeoutPreemptively(HANG, () -> limiter.acquire(Duration.ofHours(1)));

    assertThat(refused).isInstanceOfSatisfying(Refusal.class, refusal -> {
      assertThat(refusal.limit()).isEqualTo(Limit.MAX_PENDING_REQUESTS);
      assertThat(refusal.message()).isEqualTo("max pending 1 waiting (max connections 1 in use)");
    });
    held.close();
    assertThat(waiter.get()).isInstanceOf(Permit.class);
  }

  @Test
  void aFreedSlotGoesStraightToTheFirstWaiterSoTheNextRequestMayWaitInItsPlace() throws Exception {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(1, 1, 1024, 3));
    Permit held = (Permit) limiter.acquire(Duration.ofHours(1));
    Future<Admission> first = executor.submit(() -> limiter.acquire(Duration.ofHours(1)));
    awaitPending(limiter, 1);

    held.close();

    // whether or not the waiter's thread has woken yet, it is in flight now and no longer pending
    assertThat(limiter.pendingRequests()).isZero();
    assertThat(limiter.activeRequests()).isEqualTo(1);
    Future<Admission> second = executor.submit(() -> limiter.acquire(Duration.ofHours(1)));
    awaitPending(limiter, 1);
    ((Permit) first.get()).close();
    assertThat(second.get()).isInstanceOf(Permit.class);
  }

  @Test
  void aRequestWaitingForANewConnectionIsPendingUntilItIsConnected() {
    ConnectionLimiter limiter = ConnectionLimiter.of(new ConnectionLimits(10, 1, 1024, 3));
    limiter.tryAcquire();

    assertThat(limiter.startConnecting()).isEmpty();
    assertThat(limiter.pendingRequests()).isEqualTo(1);
    assertThat(limiter.startConnecting()).hasValueSatisfying(refusal -> assertThat(refusal.limit()).isEqualTo(Limit.MAX_PENDING_REQUESTS));
    limiter.connected();
    assertThat(limiter.pendingRequests()).isZero();
    assertThat(limiter.startConnecting()).isEmpty();
  }

  @Test
  void defaultsAreEnvoysAndNegativeLimitsAreRejected() {
    assertThat(ConnectionLimits.defaults()).isEqualTo(new ConnectionLimits(1024, 1024, 1024, 3));
    assertThatThrownBy(() -> new ConnectionLimits(1, 1, -5, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxRequests").hasMessageContaining("-5");
  }

  private static void awaitPending(ConnectionLimiter limiter, int waiting) {
    assertTimeoutPreemptively(HANG, () -> {
      while (limiter.pendingRequests() < waiting) {
        Thread.onSpinWait();
      }
    });
  }
}
