package dev.inmesh.inbound;

import dev.inmesh.security.SpiffeId;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * Who is on the other end of an inbound connection, as the door saw it: handlers find it under
 * {@link #ATTRIBUTE} (an {@code HttpExchange} attribute, or a Servlet request attribute).
 *
 * @param source the client's address and port on the public side (the backend only sees loopback)
 * @param destination the local address and port the client connected to
 * @param security mutual TLS or plaintext
 * @param principal the client's SPIFFE identity; present exactly when {@code security} is
 *     {@link Security#MUTUAL_TLS}
 * @param sni the server name the client asked for in its TLS handshake, when it sent one
 */
public record PeerInfo(
    InetSocketAddress source,
    InetSocketAddress destination,
    Security security,
    Optional<SpiffeId> principal,
    Optional<String> sni) {

  /** The attribute name under which adapters hand the peer to handlers. */
  public static final String ATTRIBUTE = "dev.inmesh.peer";

  /** How the connection is protected, named as Istio's {@code connection_security_policy} label. */
  public enum Security {
    MUTUAL_TLS("mutual_tls"),
    NONE("none");

    private final String istioName;

    Security(String istioName) {
      this.istioName = istioName;
    }

    /** {@code mutual_tls} or {@code none}. */
    public String istioName() {
      return istioName;
    }
  }

  public PeerInfo {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(security, "security");
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(sni, "sni");
    if ((security == Security.MUTUAL_TLS) != principal.isPresent()) {
      throw new IllegalArgumentException("a " + security + " peer " + (principal.isPresent() ? "cannot have" : "must have")
          + " a principal, got " + principal);
    }
  }

  public boolean isMutualTls() {
    return security == Security.MUTUAL_TLS;
  }
}
