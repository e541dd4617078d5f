package dev.inmesh.ca;

import dev.inmesh.identity.SpiffeId;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What the CA issues: {@link SpiffeId}s in Istio's shape whose trust domain is SPIFFE's lowercase
 * form and whose namespace and service account are Kubernetes names. Stricter than
 * {@link SpiffeId}'s own rule, which accepts every identity a peer may present; other SPIFFE paths
 * are valid SPIFFE but not mesh identities, so {@link #parse} refuses them. Errors quote the input
 * and say what is wrong.
 */
public final class IdentityRules {
  // SPIFFE allows lowercase letters, digits, '.', '-' and '_' in a trust domain
  private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
  // Kubernetes names: the namespace and service account must also be DNS-1123 labels/subdomains
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?");

  private IdentityRules() {}

  /** The identity of {@code serviceAccount} in {@code namespace}, if the CA may issue it. */
  public static SpiffeId identity(String trustDomain, String namespace, String serviceAccount) {
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
    return new SpiffeId(trustDomain, namespace, serviceAccount);
  }

  /** Parses {@code spiffe://td/ns/NS/sa/SA} under the rules above. */
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
    return identity(parts[0], parts[2], parts[4]);
  }

  /** SPIFFE's rule for a trust domain. */
  public static void requireTrustDomain(String trustDomain) {
    if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
      throw new IllegalArgumentException(
          "trust domain must be lowercase letters, digits, '.', '-' or '_', got '" + trustDomain + "'");
    }
  }
}
