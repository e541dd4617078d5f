package dev.inmesh.model;

import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Mutual TLS to a cluster: this workload presents its mesh certificate, and the server must present
 * a certificate from a mesh root whose SPIFFE ID is one of {@code identities}; its host name is
 * never checked.
 *
 * @param sni the server name to send; empty sends none
 */
public record UpstreamTls(Set<String> identities, String sni) {
  public UpstreamTls {
    identities = Set.copyOf(new TreeSet<>(identities));
    Objects.requireNonNull(sni, "sni");
    if (identities.isEmpty()) {
      throw new IllegalArgumentException("mutual TLS needs at least one identity to verify the server against");
    }
  }
}
