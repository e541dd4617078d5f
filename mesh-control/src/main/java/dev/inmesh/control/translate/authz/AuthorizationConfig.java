package dev.inmesh.control.translate.authz;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the authorization translator needs to know about the mesh: its trust domain and the trust
 * domain aliases that Istio's {@code meshConfig.trustDomainAliases} lists. A principal in a policy
 * whose trust domain is the mesh's, one of the aliases or {@code cluster.local} matches peers of
 * every one of them, as in Istio.
 */
public record AuthorizationConfig(String trustDomain, List<String> trustDomainAliases) {
  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";

  public AuthorizationConfig {
    Objects.requireNonNull(trustDomain, "trustDomain");
    if (trustDomain.isEmpty() || trustDomain.contains("/")) {
      throw new IllegalArgumentException("trustDomain must be a non-empty name without '/', got '" + trustDomain + "'");
    }
    trustDomainAliases = List.copyOf(trustDomainAliases);
    for (String alias : trustDomainAliases) {
      if (alias.isEmpty() || alias.contains("/")) {
        throw new IllegalArgumentException("trust domain alias must be a non-empty name without '/', got '"
            + alias + "'");
      }
    }
  }

  public static AuthorizationConfig defaults() {
    return new AuthorizationConfig(DEFAULT_TRUST_DOMAIN, List.of());
  }

  public static AuthorizationConfig of(String trustDomain, List<String> trustDomainAliases) {
    return new AuthorizationConfig(trustDomain, trustDomainAliases);
  }

  /** The mesh's own trust domain first, then its aliases: the order Istio expands principals in. */
  List<String> trustDomains() {
    List<String> all = new ArrayList<>();
    all.add(trustDomain);
    all.addAll(trustDomainAliases);
    return List.copyOf(all);
  }
}
