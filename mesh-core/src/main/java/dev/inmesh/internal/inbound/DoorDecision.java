package dev.inmesh.internal.inbound;

import dev.inmesh.inbound.InboundPolicy;
import java.util.Objects;
import java.util.Optional;

/**
 * What the door does with a new connection, decided from its first byte and the port's policy at
 * that moment; pure, so that every branch is tested without sockets.
 */
public sealed interface DoorDecision {
  /** The first byte of a TLS record carrying a handshake (ClientHello). */
  int TLS_HANDSHAKE_RECORD = 0x16;

  /** Relay the connection: terminate mTLS first when {@code tls}. */
  record Accept(Transport transport, InboundPolicy policy) implements DoorDecision {
    public Accept {
      Objects.requireNonNull(transport, "transport");
      Objects.requireNonNull(policy, "policy");
    }
  }

  /** Close the connection; {@code message} names the port and the policy, for the log. */
  record Refuse(RefusalReason reason, String message) implements DoorDecision {
    public Refuse {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }
  }

  enum Transport { TLS, PLAINTEXT }

  /**
   * @param firstByte the first byte the client sent
   * @param policy the port's policy now; empty until mesh-control has sent one
   * @param hasCertificate whether this workload holds a mesh certificate to terminate mTLS with
   */
  static DoorDecision decide(int port, int firstByte, Optional<InboundPolicy> policy, boolean hasCertificate) {
    if (policy.isEmpty()) {
      return new Refuse(RefusalReason.NO_POLICY, "no inbound policy for port " + port
          + " from mesh-control yet; refusing connections until it arrives");
    }
    InboundPolicy p = policy.get();
    String where = "port " + port + " (" + p.mode() + ", listener " + p.listener() + ")";
    if (firstByte == TLS_HANDSHAKE_RECORD) {
      if (!p.mode().acceptsTls()) {
        return new Refuse(RefusalReason.TLS_UNDER_DISABLE, where + " takes plaintext only: refused a TLS connection");
      }
      if (!hasCertificate) {
        return new Refuse(RefusalReason.NO_CERTIFICATE, where + " takes mutual TLS but this workload has no mesh"
            + " certificate (build the Mesh with certificateAuthority(...)): refused a TLS connection");
      }
      return new Accept(Transport.TLS, p);
    }
    if (!p.mode().acceptsPlaintext()) {
      return new Refuse(RefusalReason.PLAINTEXT_UNDER_STRICT, where + " takes mutual TLS only: refused a plaintext"
          + " connection");
    }
    return new Accept(Transport.PLAINTEXT, p);
  }
}
