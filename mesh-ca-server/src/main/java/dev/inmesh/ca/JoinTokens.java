package dev.inmesh.ca;

import dev.inmesh.ca.CaException.Reason;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Single-use join tokens bound to one identity. An admin creates one per workload ({@code meshctl
 * token create}); the workload sends it with its first CSR. Tokens live in memory: a CA restart
 * invalidates the tokens not yet used.
 */
public final class JoinTokens {
  private static final String PREFIX = "inmesh-jt-";
  // how long a used or expired token is remembered, so that its reuse is reported as reuse rather than as unknown
  private static final Duration REMEMBER = Duration.ofDays(1);
  /** The longest a join token may be valid: it is a credential that buys a certificate. */
  public static final Duration MAX_TTL = Duration.ofDays(7);
  /** How many tokens may wait unused at once, so that a caller with the right to mint cannot fill the heap. */
  public static final int MAX_OUTSTANDING = 10_000;

  private record Entry(SpiffeId identity, Instant expiresAt, Instant usedAt) {}

  private final String trustDomain;
  private final Clock clock;
  private final SecureRandom random;
  // keyed by SHA-256 of the token, so the table itself holds no usable credential
  private final ConcurrentMap<String, Entry> tokens = new ConcurrentHashMap<>();

  private JoinTokens(String trustDomain, Clock clock, SecureRandom random) {
    SpiffeId.requireTrustDomain(trustDomain);
    this.trustDomain = trustDomain;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
  }

  public static JoinTokens of(String trustDomain, Clock clock, SecureRandom random) {
    return new JoinTokens(trustDomain, clock, random);
  }

  /** A new random token for {@code spiffe://<trust-domain>/ns/<namespace>/sa/<serviceAccount>}, valid for {@code ttl}. */
  public JoinToken create(String namespace, String serviceAccount, Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("join token ttl must be positive, got " + ttl);
    }
    if (ttl.compareTo(MAX_TTL) > 0) {
      throw new IllegalArgumentException("join token ttl must be at most " + MAX_TTL.toDays() + " days, got " + ttl);
    }
    SpiffeId identity = SpiffeId.of(trustDomain, namespace, serviceAccount);
    Instant now = clock.instant();
    tokens.values().removeIf(e -> !now.isBefore(e.expiresAt().plus(REMEMBER)));
    int outstanding = outstanding();
    if (outstanding >= MAX_OUTSTANDING) {
      throw new IllegalStateException(outstanding + " join tokens are waiting to be used, the most this CA keeps;"
          + " let some be used or expire first");
    }
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    String value = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    Instant expiresAt = now.plus(ttl);
    tokens.put(hash(value), new Entry(identity, expiresAt, null));
    return new JoinToken(value, identity, expiresAt);
  }

  /** How many tokens are valid and not yet used. */
  public int outstanding() {
    Instant now = clock.instant();
    return (int) tokens.values().stream().filter(e -> e.usedAt() == null && now.isBefore(e.expiresAt())).count();
  }

  /** Fails, naming the problem, unless {@code token} is valid, unused and bound to {@code requested}. Consumes nothing. */
  public void check(String token, SpiffeId requested) {
    Entry entry = tokens.get(hash(Objects.requireNonNull(token, "token")));
    refusal(entry, requested, clock.instant());
  }

  /**
   * Checks {@code token} as {@link #check} does and marks it used, atomically: of two concurrent
   * redemptions exactly one succeeds. A token presented for the wrong identity stays unused.
   */
  public void redeem(String token, SpiffeId requested) {
    Objects.requireNonNull(token, "token");
    Instant now = clock.instant();
    AtomicReference<CaException> refused = new AtomicReference<>();
    tokens.compute(hash(token), (key, entry) -> {
      try {
        refusal(entry, requested, now);
        return new Entry(entry.identity(), entry.expiresAt(), now);
      } catch (CaException e) {
        refused.set(e);
        return entry;
      }
    });
    if (refused.get() != null) {
      throw refused.get();
    }
  }

  private static void refusal(Entry entry, SpiffeId requested, Instant now) {
    if (entry == null) {
      throw new CaException(Reason.BAD_TOKEN, "join token is not known to this CA (mistyped, or created before a CA restart)");
    }
    if (entry.usedAt() != null) {
      throw new CaException(Reason.REUSED_TOKEN,
          "join token for " + entry.identity() + " was already used at " + entry.usedAt() + "; tokens are single use");
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
