package dev.inmesh.ca;

import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.identity.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * Single-use join tokens bound to one identity. An admin creates one per workload ({@code meshctl
 * token create}); the workload sends it with its first CSR. The {@link JoinTokenStore} keeps only
 * each token's SHA-256 digest: in memory by default, where a CA restart invalidates the tokens not
 * yet used, or shared by the replicas of a mesh-control on etcd.
 */
public final class JoinTokens {
  private static final String PREFIX = "inmesh-jt-";
  // how long a used or expired token is remembered, so that its reuse is reported as reuse rather than as unknown
  private static final Duration REMEMBER = Duration.ofDays(1);
  /** The longest a join token may be valid: it is a credential that buys a certificate. */
  public static final Duration MAX_TTL = Duration.ofDays(7);
  /** How many tokens may wait unused at once, so that a caller with the right to mint cannot fill the store. */
  public static final int MAX_OUTSTANDING = 10_000;
  /** How many are kept in all, with those used or expired in the last day. */
  private static final int MAX_KEPT = 10 * MAX_OUTSTANDING;

  private final String trustDomain;
  private final Clock clock;
  private final SecureRandom random;
  private final JoinTokenStore store;

  private JoinTokens(String trustDomain, Clock clock, SecureRandom random, JoinTokenStore store) {
    IdentityRules.requireTrustDomain(trustDomain);
    this.trustDomain = trustDomain;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    this.store = Objects.requireNonNull(store, "store");
  }

  /** Tokens in this JVM's memory. */
  public static JoinTokens of(String trustDomain, Clock clock, SecureRandom random) {
    return new JoinTokens(trustDomain, clock, random, JoinTokenStore.inMemory());
  }

  /** Tokens in {@code store}, which replicas may share. */
  public static JoinTokens of(String trustDomain, Clock clock, SecureRandom random, JoinTokenStore store) {
    return new JoinTokens(trustDomain, clock, random, store);
  }

  /**
   * A new random token for {@code spiffe://<trust-domain>/ns/<namespace>/sa/<serviceAccount>}, valid for {@code ttl}.
   *
   * @throws IllegalArgumentException for a ttl that is not positive or longer than {@link #MAX_TTL}
   * @throws IllegalStateException when {@link #MAX_OUTSTANDING} tokens already wait to be used
   */
  public synchronized JoinToken create(String namespace, String serviceAccount, Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("join token ttl must be positive, got " + ttl);
    }
    if (ttl.compareTo(MAX_TTL) > 0) {
      throw new IllegalArgumentException("join token ttl must be at most " + MAX_TTL.toDays() + " days, got " + ttl);
    }
    SpiffeId identity = IdentityRules.identity(trustDomain, namespace, serviceAccount);
    Instant now = clock.instant();
    JoinTokenStore.Counts counts = store.counts(now);
    if (counts.outstanding() >= MAX_OUTSTANDING || counts.kept() >= MAX_KEPT) {
      throw new IllegalStateException("too many join tokens: " + counts.outstanding() + " waiting to be used (at most "
          + MAX_OUTSTANDING + "), " + counts.kept() + " in all with those used or expired in the last day;"
          + " let some be used or expire first");
    }
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    String value = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    Instant expiresAt = now.plus(ttl);
    store.add(hash(value), new JoinTokenStore.Stored(identity, expiresAt, Optional.empty()), expiresAt.plus(REMEMBER));
    return new JoinToken(value, identity, expiresAt);
  }

  /** How many tokens are valid and not yet used. */
  public int outstanding() {
    return store.counts(clock.instant()).outstanding();
  }

  /** Fails, naming the problem, unless {@code token} is valid, unused and bound to {@code requested}. Consumes nothing. */
  public void check(String token, SpiffeId requested) {
    refusal(store.get(hash(Objects.requireNonNull(token, "token"))), requested, clock.instant());
  }

  /**
   * Checks {@code token} as {@link #check} does and marks it used, atomically: of two concurrent
   * redemptions, on this CA or on replicas sharing its store, exactly one succeeds. A token
   * presented for the wrong identity stays unused.
   */
  public void redeem(String token, SpiffeId requested) {
    String digest = hash(Objects.requireNonNull(token, "token"));
    Instant now = clock.instant();
    Optional<JoinTokenStore.Stored> stored = store.get(digest);
    refusal(stored, requested, now);
    if (!store.markUsed(digest, now)) {
      refusal(store.get(digest), requested, now);
      throw new CaException(Reason.REUSED_TOKEN, "join token for " + requested + " was used by another request at the"
          + " same moment; tokens are single use");
    }
  }

  private static void refusal(Optional<JoinTokenStore.Stored> found, SpiffeId requested, Instant now) {
    if (found.isEmpty()) {
      throw new CaException(Reason.BAD_TOKEN, "join token is not known to this CA (mistyped, or created before a CA restart)");
    }
    JoinTokenStore.Stored entry = found.get();
    if (entry.usedAt().isPresent()) {
      throw new CaException(Reason.REUSED_TOKEN,
          "join token for " + entry.identity() + " was already used at " + entry.usedAt().get() + "; tokens are single use");
    }
    if (!now.isBefore(entry.expiresAt())) {
      throw new CaException(Reason.EXPIRED_TOKEN,
          "join token for " + entry.identity() + " expired at " + entry.expiresAt());
    }
    if (!entry.identity().equals(requested)) {
      throw new CaException(Reason.IDENTITY_MISMATCH,
          "join token is bound to " + entry.identity() + " but the CSR asks for " + requested);
    }
  }

  private static String hash(String token) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
