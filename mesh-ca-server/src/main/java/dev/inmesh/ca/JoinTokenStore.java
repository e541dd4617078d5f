package dev.inmesh.ca;

import dev.inmesh.identity.SpiffeId;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a CA keeps its join tokens, by the SHA-256 digest of each token, never the token itself.
 * In memory by default; a replicated CA (mesh-control on etcd) keeps them where every replica sees
 * them, so that a token minted at one replica is redeemed at any, and once only.
 */
public interface JoinTokenStore {
  /** A token as stored: the identity it buys, when it expires, and when it was used, if it was. */
  record Stored(SpiffeId identity, Instant expiresAt, Optional<Instant> usedAt) {
    public Stored {
      Objects.requireNonNull(identity, "identity");
      Objects.requireNonNull(expiresAt, "expiresAt");
      Objects.requireNonNull(usedAt, "usedAt");
    }
  }

  /** Keeps a new token until {@code forgetAfter}; its digest is new. */
  void add(String digest, Stored token, Instant forgetAfter);

  /** The token with this digest, as every replica sees it now. */
  Optional<Stored> get(String digest);

  /**
   * Marks the token used at {@code at} if no one has: true for exactly one of any number of
   * concurrent calls, on any replica.
   */
  boolean markUsed(String digest, Instant at);

  /** How many tokens are kept in all, and how many of them are unused and unexpired at {@code now}. */
  Counts counts(Instant now);

  /** Token counts; see {@link #counts}. */
  record Counts(int kept, int outstanding) {}

  /** Tokens in this JVM's memory: what one CA on its own needs. */
  static JoinTokenStore inMemory() {
    return new InMemoryJoinTokenStore();
  }
}
