package dev.inmesh.identity;

import java.net.URI;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * A workload identity in Istio's SPIFFE shape: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}.
 * The data plane reads it from peers' certificates and the CA issues it; both use this one type.
 * Its own rule is SPIFFE's path grammar (letters, digits, {@code .}, {@code _}, {@code -}), so
 * every identity a peer can present parses. The CA adds its stricter rule for what it issues
 * (Kubernetes names, a lowercase trust domain) where it issues: {@code dev.inmesh.ca.IdentityRules}.
 */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");
  private static final int URI_SAN = 6;
  /**
   * Metrics read the peer's identity from its certificate on every call, and a pooled connection
   * shows the same certificate each time: certificates read before, by their encoding. Past the
   * bound the cache forgets everything at once, so certificates that never recur cannot grow it.
   */
  private static final int CERTIFICATES_KEPT = 256;
  private static final Map<X509Certificate, Optional<SpiffeId>> BY_CERTIFICATE = new ConcurrentHashMap<>();

  public SpiffeId {
    Objects.requireNonNull(trustDomain, "trustDomain");
    check("trust domain", trustDomain);
    check("namespace", namespace);
    check("service account", serviceAccount);
  }

  /** Parses Istio's SPIFFE form; empty for any other URI. */
  public static Optional<SpiffeId> parse(String uri) {
    String prefix = "spiffe://";
    if (uri == null || !uri.startsWith(prefix)) {
      return Optional.empty();
    }
    String[] parts = uri.substring(prefix.length()).split("/", -1);
    if (parts.length != 5 || !parts[1].equals("ns") || !parts[3].equals("sa")) {
      return Optional.empty();
    }
    try {
      return Optional.of(new SpiffeId(parts[0], parts[2], parts[4]));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The SPIFFE ID in a certificate's URI SANs, when it has exactly one. */
  public static Optional<SpiffeId> of(X509Certificate certificate) {
    Optional<SpiffeId> identity = BY_CERTIFICATE.get(certificate);
    if (identity == null) {
      identity = read(certificate);
      if (BY_CERTIFICATE.size() >= CERTIFICATES_KEPT) {
        BY_CERTIFICATE.clear();
      }
      BY_CERTIFICATE.put(certificate, identity);
    }
    return identity;
  }

  private static Optional<SpiffeId> read(X509Certificate certificate) {
    List<String> uris = uriSans(certificate);
    return uris.size() == 1 ? parse(uris.get(0)) : Optional.empty();
  }

  /** A certificate's URI SANs, in order; none when it has none or they cannot be read. */
  public static List<String> uriSans(X509Certificate certificate) {
    List<String> uris = new ArrayList<>();
    try {
      Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() == 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
            uris.add((String) san.get(1));
          }
        }
      }
    } catch (CertificateParsingException e) {
      return List.of();
    }
    return uris;
  }

  public URI toUri() {
    return URI.create(toString());
  }

  @Override
  public String toString() {
    return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  private static void check(String what, String value) {
    if (value == null || !SEGMENT.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " must be letters, digits, '.', '_' or '-', got '" + value + "'");
    }
  }
}
