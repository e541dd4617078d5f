package dev.inmesh.ca;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** What a caller shows to prove its right to the identity in its CSR. */
public sealed interface Credential {

  /** A bootstrap join token, sent as {@code authorization: Bearer <token>}. */
  record Token(String value) implements Credential {
    public Token {
      Objects.requireNonNull(value, "value");
    }

    @Override
    public String toString() {
      return "Token[redacted]";
    }
  }

  /**
   * The client certificate chain of a TLS connection, leaf first, for renewal. The transport has
   * already checked that the peer holds the leaf's private key (the TLS handshake does).
   */
  record PeerCertificate(List<X509Certificate> chain) implements Credential {
    public PeerCertificate {
      chain = List.copyOf(chain);
      if (chain.isEmpty()) {
        throw new IllegalArgumentException("a peer certificate chain needs at least the leaf");
      }
    }
  }

  /** Nothing was presented; every request with it is refused. */
  record None() implements Credential {}

  static Credential none() {
    return new None();
  }
}
