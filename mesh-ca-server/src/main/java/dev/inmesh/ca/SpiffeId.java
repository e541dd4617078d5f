package dev.inmesh.ca;

import java.net.URI;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A workload identity in Istio's SPIFFE shape: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}.
 * Other SPIFFE paths are valid SPIFFE but not mesh identities, so {@link #parse} refuses them.
 */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {
  // SPIFFE allows lowercase letters, digits, '.', '-' and '_' in a trust domain
  private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
  // Kubernetes names: the namespace and service account must also be DNS-1123 labels/subdomains
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?");

  public SpiffeId {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(serviceAccount, "serviceAccount");
    requireTrustDomain(trustDomain);
    if (!NAME.matcher(namespace).matches()) {
      throw new IllegalArgumentException("namespace must be a lowercase DNS name, got '" + namespace + "'");
    }
    if (!NAME.matcher(serviceAccount).matches()) {
      throw new IllegalArgumentException("service account must be a lowercase DNS name, got '" + serviceAccount + "'");
    }
  }

  public static SpiffeId of(String trustDomain, String namespace, String serviceAccount) {
    return new SpiffeId(trustDomain, namespace, serviceAccount);
  }

  /** Parses {@code spiffe://td/ns/NS/sa/SA}; the error quotes the input and says what is wrong. */
  public static SpiffeId parse(String uri) {
    Objects.requireNonNull(uri, "uri");
    String prefix = "spiffe://";
    if (!uri.startsWith(prefix)) {
      throw new IllegalArgumentException("not a SPIFFE ID (must start with spiffe://): '" + uri + "'");
    }
    String rest = uri.substring(prefix.length());
    String[] parts = rest.split("/", -1);
    if (parts.length != 5 || !parts[1].equals("ns") || !parts[3].equals("sa")) {
      throw new IllegalArgumentException(
          "not a mesh identity (must be spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>): '" + uri + "'");
    }
    return new SpiffeId(parts[0], parts[2], parts[4]);
  }

  static void requireTrustDomain(String trustDomain) {
    if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
      throw new IllegalArgumentException(
          "trust domain must be lowercase letters, digits, '.', '-' or '_', got '" + trustDomain + "'");
    }
  }

  public URI toUri() {
    return URI.create(toString());
  }

  @Override
  public String toString() {
    return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
  }
}
