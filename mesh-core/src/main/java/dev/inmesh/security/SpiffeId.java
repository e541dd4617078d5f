package dev.inmesh.security;

import dev.inmesh.model.Memo;
import java.net.URI;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/** A workload identity: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}. */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");
  private static final int URI_SAN = 6;
  /**
   * Metrics read the peer's identity from its certificate on every call, and a pooled connection
   * shows the same certificate each time: certificates read before, by their encoding.
   */
  private static final Memo<X509Certificate, Optional<SpiffeId>> BY_CERTIFICATE = new Memo<>(256, SpiffeId::read);

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
    return BY_CERTIFICATE.apply(certificate);
  }

  private static Optional<SpiffeId> read(X509Certificate certificate) {
    List<String> uris = uriSans(certificate);
    return uris.size() == 1 ? parse(uris.get(0)) : Optional.empty();
  }

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
