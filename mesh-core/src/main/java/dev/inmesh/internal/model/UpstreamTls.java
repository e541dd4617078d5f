package dev.inmesh.internal.model;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * TLS to a cluster. Mesh mutual TLS (no {@code origination}): this workload presents its mesh
 * certificate, and the server must present a certificate from a mesh root whose SPIFFE ID is one
 * of {@code identities}; its host name is never checked. Originated TLS (a DestinationRule's
 * SIMPLE or MUTUAL): the {@link TlsOrigination}'s files say whom to trust and what to present, and
 * {@code identities} are the subject alternative names the server may have (any, when empty).
 *
 * @param sni the server name to send; empty sends none (or, for originated TLS with auto SNI, the request's host)
 * @param scope every endpoint of the cluster, or only those marked as speaking mesh mTLS (Istio's
 *     transport socket match on {@code tlsMode: istio}), the rest in plaintext
 */
public record UpstreamTls(Set<String> identities, String sni, Scope scope, Optional<TlsOrigination> origination) {
  /** Which endpoints of the cluster the TLS is for. */
  public enum Scope { EVERY_ENDPOINT, MARKED_ENDPOINTS }

  /** TLS to every endpoint. */
  public UpstreamTls(Set<String> identities, String sni) {
    this(identities, sni, Scope.EVERY_ENDPOINT);
  }

  /** Mesh mutual TLS to {@code scope}. */
  public UpstreamTls(Set<String> identities, String sni, Scope scope) {
    this(identities, sni, scope, Optional.empty());
  }

  /** TLS this client originates to every endpoint, accepting a server with one of {@code subjectAltNames} (any when empty). */
  public static UpstreamTls originated(TlsOrigination origination, Set<String> subjectAltNames, String sni) {
    return new UpstreamTls(subjectAltNames, sni, Scope.EVERY_ENDPOINT, Optional.of(origination));
  }

  /** Whether this is the mesh's own mutual TLS, which needs this workload's mesh certificate. */
  public boolean meshMutualTls() {
    return origination.isEmpty();
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
    Objects.requireNonNull(origination, "origination");
    if (identities.isEmpty() && origination.isEmpty()) {
      throw new IllegalArgumentException("mutual TLS needs at least one identity to verify the server against");
    }
  }
}
