package dev.inmesh.internal.security;

import dev.inmesh.identity.SpiffeId;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this workload's SPIFFE certificate fresh. The key pair is made in process and the private
 * key never leaves it; only the CSR goes to the CA. Rotation starts at half-life and retries with
 * backoff until the certificate expires. Every new handshake gets the newest key through
 * {@link #keyManager()}, while connections already open keep theirs, so rotation breaks nothing.
 */
public final class CertificateManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CertificateManager.class);
  private static final String ALIAS = "inmesh";
  private static final Duration MIN_RETRY = Duration.ofSeconds(1);

  /** Rotation events, for metrics and logs. */
  public sealed interface CertificateEvent {
    record Issued(SpiffeId identity, Instant notAfter) implements CertificateEvent {}

    record RotationFailed(SpiffeId identity, String reason, Instant retryAt) implements CertificateEvent {}
  }

  private final SpiffeId identity;
  private final CertificateSigner signer;
  private final Duration ttl;
  private final Clock clock;
  private final Scheduler scheduler;
  private final AtomicReference<Credentials> current = new AtomicReference<>();
  private final Set<X509Certificate> roots = new LinkedHashSet<>();
  private final List<Consumer<? super CertificateEvent>> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean closed;
  private volatile Instant receivedAt;

  /** Runs a task later; tests pass one they drive by hand. */
  @FunctionalInterface
  public interface Scheduler {
    void schedule(Runnable task, Duration delay);

    static Scheduler of(ScheduledExecutorService executor) {
      return (task, delay) -> executor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  public CertificateManager(SpiffeId identity, CertificateSigner signer, Duration ttl, Clock clock, Scheduler scheduler) {
    this.identity = Objects.requireNonNull(identity, "identity");
    this.signer = Objects.requireNonNull(signer, "signer");
    this.ttl = Objects.requireNonNull(ttl, "ttl");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
  }

  public SpiffeId identity() {
    return identity;
  }

  public void onEvent(Consumer<? super CertificateEvent> listener) {
    listeners.add(listener);
  }

  /** Stops telling {@code listener} about certificates. */
  public void removeListener(Consumer<? super CertificateEvent> listener) {
    listeners.remove(listener);
  }

  /** Gets the first certificate now, then keeps rotating. Throws when the first one fails. */
  public Credentials start() throws IOException {
    // the CA's connection is made while the key and the CSR are
    signer.prepare();
    Credentials first = issue();
    scheduleRotation(first);
    return first;
  }

  /** The credentials in force, if any was issued yet. */
  public java.util.Optional<Credentials> credentials() {
    return java.util.Optional.ofNullable(current.get());
  }

  /** The credentials every new handshake uses. */
  public Credentials current() {
    Credentials credentials = current.get();
    if (credentials == null) {
      throw new IllegalStateException("no certificate yet for " + identity + "; call start()");
    }
    return credentials;
  }

  /**
   * Ready while the certificate is valid for a while yet: readiness fails a tenth of the
   * lifetime before expiry, so that an orchestrator stops traffic before handshakes would fail.
   */
  public boolean isReady() {
    Credentials credentials = current.get();
    if (credentials == null) {
      return false;
    }
    Duration life = Duration.between(start(credentials), credentials.notAfter());
    return clock.instant().isBefore(credentials.notAfter().minus(life.dividedBy(10)));
  }

  public Instant expiry() {
    return current().notAfter();
  }

  /**
   * The roots this workload trusts: the CA's trust bundle as it came with the current certificate,
   * so a root added for a rotation is trusted before anything is signed under it, and a retired
   * one is dropped at the next renewal.
   */
  public synchronized List<X509Certificate> trustAnchors() {
    return List.copyOf(roots);
  }

  public X509ExtendedKeyManager keyManager() {
    return new X509ExtendedKeyManager() {
      @Override
      public String[] getClientAliases(String keyType, Principal[] issuers) {
        return new String[] {ALIAS};
      }

      @Override
      public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return ALIAS;
      }

      @Override
      public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return ALIAS;
      }

      @Override
      public String[] getServerAliases(String keyType, Principal[] issuers) {
        return new String[] {ALIAS};
      }

      @Override
      public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return ALIAS;
      }

      @Override
      public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return ALIAS;
      }

      @Override
      public X509Certificate[] getCertificateChain(String alias) {
        return current().chain().toArray(X509Certificate[]::new);
      }

      @Override
      public PrivateKey getPrivateKey(String alias) {
        return current().key();
      }
    };
  }

  private Credentials issue() throws IOException {
    KeyPair keys = newKeyPair();
    String csr;
    try {
      csr = CertificateRequest.pem(keys, identity);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("signing a CSR with a fresh P-256 key cannot fail", e);
    }
    List<X509Certificate> returned = signer.sign(csr, ttl);
    // the CA returns the chain up to its root, then the other roots it trusts: handshakes send the
    // chain without roots, and the roots become this workload's trust anchors
    List<X509Certificate> chain = returned.stream().filter(c -> !isSelfSigned(c)).toList();
    List<X509Certificate> caRoots = returned.stream().filter(CertificateManager::isSelfSigned).toList();
    if (chain.isEmpty()) {
      throw new IOException("the CA returned no certificate for " + identity);
    }
    if (!chain.get(0).getPublicKey().equals(keys.getPublic())) {
      throw new IOException("the CA returned a certificate for another key");
    }
    if (!SpiffeId.of(chain.get(0)).map(identity::equals).orElse(false)) {
      throw new IOException("the CA returned a certificate for " + SpiffeId.uriSans(chain.get(0)) + ", not " + identity);
    }
    if (caRoots.isEmpty()) {
      throw new IOException("the CA returned no root with the certificate for " + identity);
    }
    Credentials credentials = new Credentials(keys.getPrivate(), chain);
    synchronized (this) {
      roots.clear();
      roots.addAll(caRoots);
    }
    receivedAt = clock.instant();
    current.set(credentials);
    log.info("certificate for {} valid until {}", identity, credentials.notAfter());
    listeners.forEach(l -> l.accept(new CertificateEvent.Issued(identity, credentials.notAfter())));
    return credentials;
  }

  private void scheduleRotation(Credentials credentials) {
    Instant start = start(credentials);
    Instant halfLife = start.plus(Duration.between(start, credentials.notAfter()).dividedBy(2));
    long delay = Math.max(0, Duration.between(clock.instant(), halfLife).toMillis());
    scheduleAttempt(delay, MIN_RETRY);
  }

  private void scheduleAttempt(long delayMillis, Duration nextRetry) {
    if (closed) {
      return;
    }
    scheduler.schedule(() -> rotate(nextRetry), Duration.ofMillis(delayMillis));
  }

  private void rotate(Duration retry) {
    if (closed) {
      return;
    }
    try {
      scheduleRotation(issue());
    } catch (IOException | RuntimeException e) {
      Instant retryAt = clock.instant().plus(retry);
      log.warn("rotating the certificate of {} failed ({}); the current one stays until {}; retrying at {}",
          identity, e.getMessage(), current.get() == null ? "-" : current.get().notAfter(), retryAt);
      listeners.forEach(l -> l.accept(new CertificateEvent.RotationFailed(identity, String.valueOf(e.getMessage()), retryAt)));
      Duration next = retry.multipliedBy(2);
      scheduleAttempt(retry.toMillis(), next.compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofMinutes(1) : next);
    }
  }

  /**
   * Where a certificate's life starts for rotation and readiness: when it arrived, not its
   * notBefore, which CAs backdate for clock skew (a minute here, more than a 30-second
   * certificate's whole life; from notBefore its half-life would already be past).
   */
  private Instant start(Credentials credentials) {
    Instant arrived = receivedAt;
    return arrived != null && arrived.isAfter(credentials.notBefore()) && arrived.isBefore(credentials.notAfter())
        ? arrived : credentials.notBefore();
  }

  private static boolean isSelfSigned(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal());
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK 17 has P-256", e);
    }
  }

  /** True once {@link #close()} ran: no rotation is scheduled any more. */
  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    closed = true;
  }
}
