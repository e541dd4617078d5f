package dev.inmesh.control.translate.authz;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the authorization translator needs to know about the mesh and the servers it writes for:
 * the trust domain and the trust domain aliases that Istio's {@code meshConfig.trustDomainAliases}
 * lists (a principal in a policy whose trust domain is the mesh's, one of the aliases or
 * {@code cluster.local} matches peers of every one of them, as in Istio), and the
 * {@link DataPlane} whose RBAC engine will evaluate the filters.
 */
public record AuthorizationConfig(String trustDomain, List<String> trustDomainAliases, DataPlane dataPlane) {
  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";

  /**
   * The RBAC engine that receives the filters. What it cannot evaluate is translated fail-closed,
   * as Istio translates what a proxy cannot evaluate (an HTTP field on a TCP chain): a DENY or
   * AUDIT rule is matched as if the field were not there, an ALLOW rule is dropped.
   */
  public enum DataPlane {
    /**
     * Inmesh's own engine (mesh-core, behind Inmesh's HTTP servers and gRPC's permissive server):
     * the claims of the JWT its own filter verified and no other filter's metadata; of the pseudo-headers only {@code :method},
     * {@code :authority} and {@code :path}.
     */
    INMESH("Inmesh's servers"),
    /**
     * gRPC's RBAC filter (gRFC A41): metadata never matches, the TLS server name is always empty,
     * and a header matcher on {@code grpc-*} or {@code :scheme} or a {@code uri_template} matcher
     * makes it NACK the listener.
     */
    PROXYLESS_GRPC("proxyless gRPC servers"),
    /** An Envoy sidecar with Istio's filter chain, what Istio's own generator writes for: everything. */
    ENVOY("Envoy");

    private static final Set<String> AUTHZ_PSEUDO_HEADERS = Set.of(":method", ":authority", ":path");

    private final String servers;

    DataPlane(String servers) {
      this.servers = servers;
    }

    /** Why these servers cannot evaluate {@code field}, which reads the claims of a verified JWT. */
    Optional<String> jwtClaims(String field) {
      return this != PROXYLESS_GRPC ? Optional.empty() : Optional.of(field + " needs the claims of a verified JWT, and "
          + servers + " have none: grpc-java has no JWT filter (RequestAuthentication is not enforced there)");
    }

    /** Why these servers cannot evaluate {@code key}, which reads another Envoy filter's dynamic metadata. */
    Optional<String> filterMetadata(String key) {
      return this == ENVOY ? Optional.empty() : Optional.of(key + " reads another Envoy filter's dynamic metadata,"
          + " which " + servers + " do not have");
    }

    Optional<String> serverName() {
      return this != PROXYLESS_GRPC ? Optional.empty() : Optional.of("connection.sni: " + servers
          + " do not see the TLS server name (gRFC A41 matches it as empty)");
    }

    Optional<String> pathTemplate(String path) {
      return this != PROXYLESS_GRPC ? Optional.empty() : Optional.of("path template '" + path + "' needs Envoy's"
          + " uri_template matcher, which " + servers + " refuse (they would NACK the listener)");
    }

    Optional<String> header(String name) {
      String lower = name.toLowerCase(Locale.ROOT);
      return switch (this) {
        case ENVOY -> Optional.empty();
        case INMESH -> lower.startsWith(":") && !AUTHZ_PSEUDO_HEADERS.contains(lower)
            ? Optional.of("pseudo-header " + name + " is not available to the authorization of " + servers
                + "; only :method, :authority and :path are")
            : Optional.empty();
        case PROXYLESS_GRPC -> lower.startsWith("grpc-") || (lower.startsWith(":") && !AUTHZ_PSEUDO_HEADERS.contains(lower))
            ? Optional.of(servers + " refuse header matchers on " + name + " (gRFC A41 allows no grpc-* header"
                + " and no :scheme; they would NACK the listener)")
            : Optional.empty();
      };
    }
  }

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
    Objects.requireNonNull(dataPlane, "dataPlane");
  }

  /** {@code cluster.local}, no aliases, for Inmesh's servers. */
  public static AuthorizationConfig defaults() {
    return new AuthorizationConfig(DEFAULT_TRUST_DOMAIN, List.of(), DataPlane.INMESH);
  }

  public static AuthorizationConfig of(String trustDomain, List<String> trustDomainAliases, DataPlane dataPlane) {
    return new AuthorizationConfig(trustDomain, trustDomainAliases, dataPlane);
  }

  /** The mesh's own trust domain first, then its aliases: the order Istio expands principals in. */
  List<String> trustDomains() {
    List<String> all = new ArrayList<>();
    all.add(trustDomain);
    all.addAll(trustDomainAliases);
    return List.copyOf(all);
  }
}
