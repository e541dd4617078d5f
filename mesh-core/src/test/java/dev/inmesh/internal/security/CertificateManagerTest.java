package dev.inmesh.internal.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.identity.SpiffeId;
import java.io.IOException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CertificateManagerTest {
  private static final SpiffeId IDENTITY = new SpiffeId("cluster.local", "default", "reviews");
  private static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");

  /** Holds scheduled tasks until the test runs them. */
  static final class ManualScheduler implements CertificateManager.Scheduler {
    final List<Duration> delays = new ArrayList<>();
    final List<Runnable> tasks = new ArrayList<>();

    @Override
    public void schedule(Runnable task, Duration delay) {
      tasks.add(task);
      delays.add(delay);
    }

    void runNext() {
      delays.remove(0);
      tasks.remove(0).run();
    }
  }

  static final class MovableClock extends Clock {
    Instant now;

    MovableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final MovableClock clock = new MovableClock(T0);
  private final TestCa ca = new TestCa(T0);
  private final ManualScheduler scheduler = new ManualScheduler();
  private final CertificateManager manager = new CertificateManager(IDENTITY, ca, Duration.ofHours(24), clock, scheduler);

  @Test
  void theCsrCarriesTheSpiffeIdAndIsSignedByAKeyMadeInProcess() throws Exception {
    Credentials credentials = manager.start();

    assertThat(SpiffeId.of(credentials.leaf())).contains(IDENTITY);
    assertThat(credentials.leaf().getPublicKey().getEncoded()).isEqualTo(
        new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest(ca.lastRequest).setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).getPublicKey().getEncoded());
    assertThat(ca.lastRequest.getSubject().getRDNs()).isEmpty();
    assertThat(credentials.key().getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void rotationIsScheduledAtHalfLifeAndNewHandshakesGetTheNewKey() throws Exception {
    Credentials first = manager.start();
    assertThat(scheduler.delays).containsExactly(Duration.ofHours(12));
    assertThat(manager.keyManager().getPrivateKey("inmesh")).isEqualTo(first.key());

    clock.now = T0.plus(Duration.ofHours(12));
    ca.now = clock.now;
    scheduler.runNext();

    Credentials second = manager.current();
    assertThat(second.key()).isNotEqualTo(first.key());
    assertThat(manager.keyManager().getPrivateKey("inmesh")).isEqualTo(second.key());
    assertThat(manager.keyManager().getCertificateChain("inmesh")[0]).isEqualTo(second.leaf());
    assertThat(scheduler.delays).containsExactly(Duration.ofHours(12));
  }

  @Test
  void aFailedRotationKeepsTheCurrentCertificateAndRetriesWithBackoff() throws Exception {
    Credentials first = manager.start();
    clock.now = T0.plus(Duration.ofHours(12));
    ca.failNext = new IOException("CA unreachable");
    List<CertificateManager.CertificateEvent> events = new ArrayList<>();
    manager.onEvent(events::add);

    scheduler.runNext();

    assertThat(manager.current()).isEqualTo(first);
    assertThat(scheduler.delays).containsExactly(Duration.ofSeconds(1));
    assertThat(events).singleElement().isInstanceOfSatisfying(CertificateManager.CertificateEvent.RotationFailed.class,
        e -> assertThat(e.reason()).isEqualTo("CA unreachable"));
    ca.now = clock.now;
    scheduler.runNext();
    assertThat(manager.current()).isNotEqualTo(first);
  }

  @Test
  void readinessFailsBeforeTheCertificateExpires() throws Exception {
    assertThat(manager.isReady()).isFalse();
    manager.start();
    assertThat(manager.isReady()).isTrue();

    clock.now = T0.plus(Duration.ofHours(21));
    assertThat(manager.isReady()).isTrue();
    clock.now = T0.plus(Duration.ofHours(22)).plusSeconds(1);
    assertThat(manager.isReady()).isFalse();
  }

  @Test
  void theFirstRequestsConnectionIsPreparedBeforeTheKeyIsMadeAndRenewalsPrepareNothing() throws Exception {
    List<String> calls = new ArrayList<>();
    CertificateManager recorded = new CertificateManager(IDENTITY, new CertificateSigner() {
      @Override
      public List<X509Certificate> sign(String csrPem, Duration ttl) throws IOException {
        calls.add("sign");
        return ca.sign(csrPem, ttl);
      }

      @Override
      public void prepare() {
        calls.add("prepare");
      }
    }, Duration.ofHours(24), clock, scheduler);

    recorded.start();
    scheduler.runNext();

    assertThat(calls).containsExactly("prepare", "sign", "sign");
  }

  @Test
  void aChainForAnotherKeyIsRefused() {
    CertificateManager confused = new CertificateManager(IDENTITY, (csr, ttl) -> {
      CertificateManager someoneElse = new CertificateManager(IDENTITY, ca, ttl, clock, scheduler);
      return someoneElse.start().chain();
    }, Duration.ofHours(1), clock, scheduler);

    assertThatThrownBy(confused::start).isInstanceOf(IOException.class).hasMessageContaining("another key");
  }

  @Test
  void theTrustManagerAcceptsMeshPeersByIdentityAndSaysWhyItRefusesOthers() throws Exception {
    Credentials reviews = manager.start();
    SpiffeTrustManager onlyReviews = new SpiffeTrustManager(manager::trustAnchors, IDENTITY::equals, clock);
    SpiffeTrustManager onlyRatings = new SpiffeTrustManager(manager::trustAnchors,
        id -> id.serviceAccount().equals("ratings"), clock);
    X509Certificate[] chain = reviews.chain().toArray(X509Certificate[]::new);

    assertThat(onlyReviews.verify(chain)).isEqualTo(IDENTITY);
    assertThatThrownBy(() -> onlyRatings.verify(chain)).isInstanceOf(CertificateException.class)
        .hasMessageContaining("peer spiffe://cluster.local/ns/default/sa/reviews is not an identity this connection accepts");

    TestCa otherCa = new TestCa(T0);
    CertificateManager stranger = new CertificateManager(IDENTITY, otherCa, Duration.ofHours(1), clock, scheduler);
    X509Certificate[] foreign = stranger.start().chain().toArray(X509Certificate[]::new);
    assertThatThrownBy(() -> onlyReviews.verify(foreign)).isInstanceOf(CertificateException.class)
        .hasMessageContaining("does not chain to a mesh root");

    clock.now = T0.plus(Duration.ofDays(2));
    assertThatThrownBy(() -> onlyReviews.verify(chain)).isInstanceOf(CertificateException.class)
        .hasMessageContaining("does not chain to a mesh root");
  }

  @Test
  void aShortCertificateRotatesAtHalfItsLifeFromArrivalNotFromItsBackdatedNotBefore() throws Exception {
    ca.backdate = Duration.ofMinutes(1);
    CertificateManager shortLived = new CertificateManager(IDENTITY, ca, Duration.ofSeconds(30), clock, scheduler);

    shortLived.start();

    assertThat(scheduler.delays).containsExactly(Duration.ofSeconds(15));
    clock.now = T0.plusSeconds(26);
    assertThat(shortLived.isReady()).as("26 s in: still more than a tenth of its life left").isTrue();
    clock.now = T0.plusSeconds(28);
    assertThat(shortLived.isReady()).as("28 s into a 30 s certificate, past nine tenths of its life").isFalse();
  }
}
