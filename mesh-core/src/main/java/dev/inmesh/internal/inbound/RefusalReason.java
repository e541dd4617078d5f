package dev.inmesh.internal.inbound;

/** Why the door closed a connection without relaying it; {@link #tag()} is the metric's label. */
public enum RefusalReason {
  /** mesh-control has not sent a policy for the port yet: fail closed. */
  NO_POLICY("no_policy"),
  /** The port is STRICT and the client spoke plaintext. */
  PLAINTEXT_UNDER_STRICT("plaintext_under_strict"),
  /** The port has mTLS DISABLEd and the client started a TLS handshake. */
  TLS_UNDER_DISABLE("tls_under_disable"),
  /** The port takes mTLS but this workload has no mesh certificate to answer with. */
  NO_CERTIFICATE("no_certificate"),
  /** The mTLS handshake failed: no client certificate, another CA, expired, no SPIFFE ID, … */
  HANDSHAKE_FAILED("handshake_failed"),
  /** The real server behind the door did not take the connection. */
  BACKEND_UNAVAILABLE("backend_unavailable"),
  /** The door holds its maximum of connections, or every relay thread is busy. */
  OVERLOADED("overloaded"),
  /** The door holds the maximum of connections from the client's address. */
  SOURCE_LIMIT("source_limit");

  private final String tag;

  RefusalReason(String tag) {
    this.tag = tag;
  }

  public String tag() {
    return tag;
  }
}
