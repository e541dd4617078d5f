package dev.inmesh.model;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Mutual TLS to a cluster: this workload presents its mesh certificate, and the server must present
 * a certificate from a mesh root whose SPIFFE ID is one of {@code identities}; its host name is
 * never checked.
 *
 * @param sni the server name to send; empty sends none
 * @param scope every endpoint of the cluster, or only those marked as speaking mesh mTLS (Istio's
 *     transport socket match on {@code tlsMode: istio}), the rest in plaintext
 */
public record UpstreamTls(Set<String> identities, String sni, Scope scope) {
  /** Which endpoints of the cluster the TLS is for. */
  public enum Scope { EVERY_ENDPOINT, MARKED_ENDPOINTS }

  /** TLS to every endpoint. */
  public UpstreamTls(Set<String> identities, String sni) {
    this(identities, sni, Scope.EVERY_ENDPOINT);
  }

  /** Whether a call to {@code endpoint} goes over this TLS: one endpoint's lack of mTLS never downgrades another. */
  public boolean appliesTo(Endpoint endpoint) {
    return scope == Scope.EVERY_ENDPOINT || endpoint.meshTls();
  }

  /**
   * The transport of a call to {@code endpoint} of a cluster whose TLS is {@code tls}: that TLS
   * when it applies to the endpoint, plaintext otherwise. Returns {@code tls} itself, so a call
   * allocates nothing for it.
   */
  public static Optional<UpstreamTls> forEndpoint(Optional<UpstreamTls> tls, Endpoint endpoint) {
    return tls.isEmpty() || tls.get().appliesTo(endpoint) ? tls : Optional.empty();
  }

  public UpstreamTls {
    identities = Set.copyOf(new TreeSet<>(identities));
    Objects.requireNonNull(sni, "sni");
    Objects.requireNonNull(scope, "scope");
    if (identities.isEmpty()) {
      throw new IllegalArgumentException("mutual TLS needs at least one identity to verify the server against");
    }
  }
}
