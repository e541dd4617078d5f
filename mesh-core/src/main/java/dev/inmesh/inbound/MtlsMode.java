package dev.inmesh.inbound;

/** What an inbound port accepts, as PeerAuthentication says it: Istio's three modes. */
public enum MtlsMode {
  /** Mutual TLS with a mesh certificate only. */
  STRICT,
  /** Mutual TLS or plaintext on the same port, told apart by the first bytes. */
  PERMISSIVE,
  /** Plaintext only. */
  DISABLE;

  public boolean acceptsTls() {
    return this != DISABLE;
  }

  public boolean acceptsPlaintext() {
    return this != STRICT;
  }
}
