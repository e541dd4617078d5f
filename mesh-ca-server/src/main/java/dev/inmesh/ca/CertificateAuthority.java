package dev.inmesh.ca;

import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.internal.CertificateBuilder;
import dev.inmesh.ca.internal.Crypto;
import dev.inmesh.ca.internal.CsrInspector;
import dev.inmesh.ca.internal.CsrInspector.InspectedCsr;
import dev.inmesh.ca.internal.RootStore;
import dev.inmesh.ca.internal.RootStore.Root;
import dev.inmesh.identity.SpiffeId;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The mesh CA. A root (generated into the data directory on first start, or loaded from files)
 * signs an intermediate, and the intermediate signs SPIFFE leaves for CSRs whose caller proves its
 * right to the identity: a join token bound to it, or a still-valid mesh certificate of the same
 * identity (renewal). Everything else is refused with a {@link CaException}, and nothing is issued.
 *
 * <p>Thread-safe; transports call {@link #sign} concurrently.
 */
public final class CertificateAuthority {
  // workloads' clocks may run a little behind the CA's; a leaf valid from "now" would be rejected there
  private static final Duration BACKDATE = Duration.ofMinutes(1);
  private static final Duration MIN_INTERMEDIATE_VALIDITY = Duration.ofDays(30);
  // the CA's own TLS certificate; the key manager of CaServer asks for a new one at half-life
  static final Duration SERVING_VALIDITY = Duration.ofDays(7);

  /** A private key with its certificate chain (leaf, intermediate, root), for the CA's own TLS endpoints. */
  public record ServingCertificate(PrivateKey privateKey, List<X509Certificate> chain) {
    public ServingCertificate {
      Objects.requireNonNull(privateKey, "privateKey");
      chain = List.copyOf(chain);
    }
  }

  private record Signer(X509Certificate certificate, PrivateKey key, X509Certificate root) {}

  private final CaConfig config;
  private final Clock clock;
  private final SecureRandom random;
  private final Consumer<CaEvent> listener;
  private final CertificateBuilder certificates;
  private final RootStore store;
  private Root root; // guarded by this
  private Root nextRoot; // guarded by this; prepared by a root rotation, not signing yet
  private X509Certificate previousRoot; // guarded by this; replaced by the last activation, still trusted
  private final JoinTokens joinTokens;
  private final AtomicReference<TrustBundle> trustBundle;
  private Signer signer; // guarded by this

  private CertificateAuthority(Builder builder) {
    this.config = builder.config;
    this.clock = builder.clock;
    this.random = builder.random;
    this.listener = builder.listener;
    this.certificates = new CertificateBuilder(random);
    this.store = new RootStore(config.dataDir());
    Instant now = clock.instant();
    Optional<BigInteger> previous = Optional.empty();
    if (config.rootFiles().isPresent()) {
      this.root = RootStore.load(config.rootFiles().get().certificate(), config.rootFiles().get().privateKey(), now, random);
      this.nextRoot = null;
    } else {
      RootStore.Roots roots = store.loadOrGenerate(config.trustDomain(), now, random);
      this.root = roots.current();
      this.nextRoot = roots.next().orElse(null);
      previous = roots.previous();
    }
    TrustBundle bundle = store.loadBundle(root.certificate());
    this.previousRoot = previous
        .flatMap(serial -> bundle.roots().stream().filter(r -> r.getSerialNumber().equals(serial)).findFirst())
        .orElse(null);
    if (previous.isPresent() && previousRoot == null) {
      // a retirement took it out of the bundle and stopped before it told the store
      store.forgetPrevious();
    }
    this.trustBundle = new AtomicReference<>(nextRoot == null || bundle.contains(nextRoot.certificate())
        ? bundle : bundle.withRoot(nextRoot.certificate()));
    // written on every start, so that workloads and tools find the roots to trust in one file
    store.saveBundle(trustBundle.get());
    this.joinTokens = JoinTokens.of(config.trustDomain(), clock, random, builder.joinTokenStore);
  }

  public static Builder builder(CaConfig config) {
    return new Builder(config);
  }

  /** Sets the clock, the randomness and the event listener; each has a production default. */
  public static final class Builder {
    private final CaConfig config;
    private Clock clock = Clock.systemUTC();
    private SecureRandom random = new SecureRandom();
    private Consumer<CaEvent> listener = event -> {};
    private JoinTokenStore joinTokenStore = JoinTokenStore.inMemory();

    private Builder(CaConfig config) {
      this.config = Objects.requireNonNull(config, "config");
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public Builder random(SecureRandom random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    public Builder listener(Consumer<CaEvent> listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Where join tokens are kept; in memory by default, shared where several CAs serve one mesh. */
    public Builder joinTokenStore(JoinTokenStore store) {
      this.joinTokenStore = Objects.requireNonNull(store, "store");
      return this;
    }

    /** Loads or generates the root; fails with {@link Reason#CA_FAILURE} naming the file at fault. */
    public CertificateAuthority build() {
      return new CertificateAuthority(this);
    }
  }

  public CaConfig config() {
    return config;
  }

  public JoinTokens joinTokens() {
    return joinTokens;
  }

  public synchronized X509Certificate rootCertificate() {
    return root.certificate();
  }

  /**
   * Step one of a root rotation: generates the next root and adds it to the trust bundle, while
   * leaves are still signed under the current root. Every workload learns the new root with its
   * next certificate (the CA sends the whole bundle after the chain), so wait one renewal (half a
   * leaf lifetime) before {@link #activateNextRoot()}. Calling it again returns the prepared root.
   *
   * @throws IllegalStateException when the root was loaded from files: rotate by giving new files
   */
  public synchronized X509Certificate prepareRootRotation() {
    if (config.rootFiles().isPresent()) {
      throw new IllegalStateException("the root was loaded from " + config.rootFiles().get().certificate()
          + "; rotate it by adding the new root to the trust bundle and restarting with the new files");
    }
    if (nextRoot == null) {
      nextRoot = store.prepareNext(config.trustDomain(), clock.instant(), random);
      updateTrustBundle(bundle -> bundle.contains(nextRoot.certificate()) ? bundle : bundle.withRoot(nextRoot.certificate()));
      listener.accept(new CaEvent.RootAdded(nextRoot.certificate().getSerialNumber()));
    }
    return nextRoot.certificate();
  }

  /**
   * Step two: leaves are signed under the prepared root from now on, and the old root's private key
   * is destroyed. The old root stays trusted; once every workload holds a certificate from the new
   * root (another renewal), remove it with {@link #retireRoot}. Returns the old root.
   */
  public synchronized X509Certificate activateNextRoot() {
    if (nextRoot == null) {
      throw new IllegalStateException("no root rotation is prepared; call prepareRootRotation() first");
    }
    Root retired = root;
    store.activateNext();
    previousRoot = retired.certificate();
    root = nextRoot;
    nextRoot = null;
    signer = null;
    listener.accept(new CaEvent.RootActivated(root.certificate().getSerialNumber()));
    return retired.certificate();
  }

  /** Step three: the old root leaves the trust bundle; workloads drop it with their next certificate. */
  public synchronized TrustBundle retireRoot(X509Certificate oldRoot) {
    TrustBundle bundle = updateTrustBundle(current -> current.withoutRoot(oldRoot));
    if (oldRoot.equals(previousRoot)) {
      // the bundle is saved first: a crash in between leaves a previous root that the next start sees is gone
      store.forgetPrevious();
      previousRoot = null;
    }
    return bundle;
  }

  /** {@link #retireRoot} for the root that the last {@link #activateNextRoot()} replaced, before or after a restart. */
  public synchronized TrustBundle retirePreviousRoot() {
    if (previousRoot == null) {
      throw new IllegalStateException("no replaced root waits to be retired; activateNextRoot() replaces one");
    }
    return retireRoot(previousRoot);
  }

  /** The root that the last {@link #activateNextRoot()} replaced, trusted until it is retired. */
  public synchronized Optional<X509Certificate> previousRoot() {
    return Optional.ofNullable(previousRoot);
  }

  public TrustBundle trustBundle() {
    return trustBundle.get();
  }

  /**
   * Changes the trusted roots (add a new or federated root, remove a retired one) and saves them in
   * the data directory. This CA's own root must stay in: its leaves would no longer verify.
   */
  public synchronized TrustBundle updateTrustBundle(UnaryOperator<TrustBundle> change) {
    TrustBundle updated = trustBundle.updateAndGet(current -> {
      TrustBundle next = Objects.requireNonNull(change.apply(current), "the change returned no bundle");
      if (!next.contains(root.certificate())) {
        throw new IllegalArgumentException("the trust bundle must keep this CA's root "
            + root.certificate().getSubjectX500Principal().getName() + " while the CA signs with it");
      }
      if (nextRoot != null && !next.contains(nextRoot.certificate())) {
        throw new IllegalArgumentException("the trust bundle must keep the root prepared for rotation "
            + nextRoot.certificate().getSubjectX500Principal().getName() + "; activate it first");
      }
      return next;
    });
    store.saveBundle(updated);
    return updated;
  }

  /**
   * Signs {@code csrPem} when {@code credential} proves the right to the identity in it.
   *
   * @param requestedTtl the leaf's lifetime; {@link Duration#ZERO} asks for the default
   * @throws CaException naming the rule that refused the request; nothing was issued then
   */
  public IssuedCertificate sign(String csrPem, Duration requestedTtl, Credential credential) {
    Objects.requireNonNull(csrPem, "csrPem");
    Objects.requireNonNull(requestedTtl, "requestedTtl");
    Objects.requireNonNull(credential, "credential");
    try {
      InspectedCsr csr = CsrInspector.inspect(csrPem, config.trustDomain());
      Duration ttl = leafTtl(requestedTtl);
      Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
      Signer current = signer(now);
      // the token is spent last, after every check of the request passed, so that a typo in a CSR does not burn it
      authorize(credential, csr.identity(), now);
      X509Certificate leaf = certificates.leaf(csr.publicKey(), csr.identity(), current.certificate(), current.key(),
          now.minus(BACKDATE), now.plus(ttl));
      listener.accept(new CaEvent.Issued(csr.identity(), leaf.getSerialNumber(), leaf.getNotAfter().toInstant(),
          credential instanceof Credential.PeerCertificate));
      // the chain up to the signing root, then the other trusted roots: a workload learns a new root
      // before anything is signed under it, and forgets a retired one
      List<X509Certificate> chain = new ArrayList<>(List.of(leaf, current.certificate(), current.root()));
      trustBundle.get().roots().stream().filter(r -> !r.equals(current.root())).forEach(chain::add);
      return new IssuedCertificate(csr.identity(), chain);
    } catch (CaException e) {
      listener.accept(new CaEvent.Refused(e.reason(), e.getMessage()));
      throw e;
    }
  }

  /** A fresh key and a certificate for the CA's own TLS server, for the given DNS names and IP addresses. */
  public ServingCertificate issueServingCertificate(List<String> dnsNames, List<String> ipAddresses) {
    return issueServingCertificate(dnsNames, ipAddresses, Optional.empty());
  }

  /** As above, naming also the server's own SPIFFE {@code identity}, so that peers can check it by that too. */
  public ServingCertificate issueServingCertificate(List<String> dnsNames, List<String> ipAddresses,
      Optional<SpiffeId> identity) {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Signer current = signer(now);
    KeyPair keys = Crypto.newJdkP256KeyPair(random);
    Instant notAfter = min(now.plus(SERVING_VALIDITY), current.certificate().getNotAfter().toInstant());
    X509Certificate leaf = certificates.serving(keys.getPublic(), List.copyOf(dnsNames), List.copyOf(ipAddresses), identity,
        current.certificate(), current.key(), now.minus(BACKDATE), notAfter);
    return new ServingCertificate(keys.getPrivate(), List.of(leaf, current.certificate(), current.root()));
  }

  /** The intermediate now signing leaves. */
  public synchronized X509Certificate intermediateCertificate() {
    return signer(clock.instant()).certificate();
  }

  private Duration leafTtl(Duration requested) {
    if (requested.isNegative()) {
      throw new CaException(Reason.BAD_TTL, "the requested validity " + requested + " is negative");
    }
    if (requested.isZero()) {
      return config.defaultLeafTtl();
    }
    if (requested.compareTo(config.maxLeafTtl()) > 0) {
      throw new CaException(Reason.BAD_TTL, "the requested validity " + requested
          + " is above this CA's maximum of " + config.maxLeafTtl());
    }
    return requested;
  }

  private void authorize(Credential credential, SpiffeId requested, Instant now) {
    if (credential instanceof Credential.Token token) {
      joinTokens.redeem(token.value(), requested);
    } else if (credential instanceof Credential.PeerCertificate peer) {
      X509Certificate leaf = peer.chain().get(0);
      trustBundle.get().verify(peer.chain(), now);
      if (leaf.getBasicConstraints() >= 0) {
        throw new CaException(Reason.UNTRUSTED_CERTIFICATE, "the client certificate is a CA certificate, not a workload's");
      }
      SpiffeId presented = spiffeId(leaf);
      if (!presented.equals(requested)) {
        throw new CaException(Reason.IDENTITY_MISMATCH, "the client certificate is for " + presented
            + " but the CSR asks for " + requested + "; a certificate renews only its own identity");
      }
    } else {
      throw new CaException(Reason.NO_CREDENTIAL, "no credential: send a join token as 'authorization: Bearer <token>'"
          + " or, to renew, present the current mesh certificate as the TLS client certificate");
    }
  }

  /** The single SPIFFE URI SAN of a mesh certificate. */
  static SpiffeId spiffeId(X509Certificate certificate) {
    List<String> uris = new ArrayList<>();
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      if (names != null) {
        for (List<?> name : names) {
          if (((Integer) name.get(0)) == 6) { // uniformResourceIdentifier
            uris.add((String) name.get(1));
          }
        }
      }
    } catch (CertificateParsingException e) {
      throw new CaException(Reason.UNTRUSTED_CERTIFICATE, "the client certificate's SANs cannot be read", e);
    }
    if (uris.size() != 1) {
      throw new CaException(Reason.UNTRUSTED_CERTIFICATE,
          "the client certificate must carry exactly one SPIFFE URI SAN, it has " + uris);
    }
    try {
      return IdentityRules.parse(uris.get(0));
    } catch (IllegalArgumentException e) {
      throw new CaException(Reason.UNTRUSTED_CERTIFICATE, "the client certificate has no mesh identity: " + e.getMessage(), e);
    }
  }

  /**
   * The current intermediate, replaced by a new one when a leaf of the maximum lifetime would
   * outlive it. A fresh intermediate per process keeps its key off the disk: only the root key is
   * stored, and verifiers anchor on the root.
   */
  private synchronized Signer signer(Instant now) {
    Instant needed = now.plus(config.maxLeafTtl()).plus(BACKDATE);
    if (signer == null || !signer.certificate().getNotAfter().toInstant().isAfter(needed)) {
      Instant rootEnd = root.certificate().getNotAfter().toInstant();
      if (!rootEnd.isAfter(needed)) {
        throw new CaException(Reason.CA_FAILURE, "the root expires at " + rootEnd
            + ", before a leaf signed now would; rotate the root");
      }
      Duration validity = MIN_INTERMEDIATE_VALIDITY.compareTo(config.maxLeafTtl().multipliedBy(4)) > 0
          ? MIN_INTERMEDIATE_VALIDITY : config.maxLeafTtl().multipliedBy(4);
      KeyPair keys = Crypto.newP256KeyPair(random);
      X509Certificate intermediate = certificates.intermediate(keys.getPublic(), config.trustDomain(),
          root.certificate(), root.privateKey(), now.minus(BACKDATE), min(now.plus(validity), rootEnd));
      signer = new Signer(intermediate, keys.getPrivate(), root.certificate());
      listener.accept(new CaEvent.IntermediateRotated(intermediate.getSerialNumber(),
          intermediate.getNotAfter().toInstant()));
    }
    return signer;
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }
}
