package dev.inmesh.ca;

import dev.inmesh.identity.SpiffeId;
import java.time.Instant;
import java.util.Objects;

/**
 * A bootstrap credential: whoever holds {@link #value()} may get one certificate for {@link
 * #identity()} before {@link #expiresAt()}. {@link #toString()} leaves the value out so that it
 * does not end up in logs.
 */
public record JoinToken(String value, SpiffeId identity, Instant expiresAt) {
  public JoinToken {
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(identity, "identity");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  @Override
  public String toString() {
    return "JoinToken[identity=" + identity + ", expiresAt=" + expiresAt + "]";
  }
}
