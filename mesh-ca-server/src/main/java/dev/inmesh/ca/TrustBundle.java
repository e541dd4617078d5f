package dev.inmesh.ca;

import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.internal.Pem;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The roots a mesh trusts. It holds several so that a root can rotate without a failed call: add
 * the new root everywhere, re-issue leaves under it, then remove the old one. Bundles are
 * immutable; {@link #withRoot} and {@link #withoutRoot} return new ones.
 */
public final class TrustBundle {
  private final List<X509Certificate> roots;

  private TrustBundle(List<X509Certificate> roots) {
    if (roots.isEmpty()) {
      throw new IllegalArgumentException("a trust bundle needs at least one root; an empty one would trust nothing");
    }
    for (X509Certificate root : roots) {
      if (root.getBasicConstraints() < 0) {
        throw new IllegalArgumentException(
            "not a CA certificate, cannot be a root: " + root.getSubjectX500Principal().getName());
      }
    }
    this.roots = List.copyOf(new LinkedHashSet<>(roots));
  }

  public static TrustBundle of(List<X509Certificate> roots) {
    return new TrustBundle(List.copyOf(roots));
  }

  /** Reads every {@code CERTIFICATE} block of a PEM text. */
  public static TrustBundle fromPem(String pem) {
    return new TrustBundle(Pem.decodeCertificates(pem));
  }

  public List<X509Certificate> roots() {
    return roots;
  }

  public boolean contains(X509Certificate root) {
    return roots.contains(root);
  }

  public TrustBundle withRoot(X509Certificate root) {
    List<X509Certificate> more = new ArrayList<>(roots);
    more.add(root);
    return new TrustBundle(more);
  }

  /** Fails when {@code root} is the last one: removing it would break every call. */
  public TrustBundle withoutRoot(X509Certificate root) {
    List<X509Certificate> fewer = new ArrayList<>(roots);
    if (!fewer.remove(root)) {
      throw new IllegalArgumentException("the bundle does not hold " + root.getSubjectX500Principal().getName());
    }
    return new TrustBundle(fewer);
  }

  /** All roots as concatenated PEM blocks, as in a {@code ca.crt} or {@code root-cert.pem} file. */
  public String toPem() {
    StringBuilder pem = new StringBuilder();
    roots.forEach(root -> pem.append(Pem.encode(root)));
    return pem.toString();
  }

  /**
   * Checks that {@code chain} (leaf first; a trailing root may be included or not) leads to one of
   * these roots and that every certificate is valid at {@code at}.
   *
   * @throws CaException with {@link Reason#UNTRUSTED_CERTIFICATE} naming why it does not verify
   */
  public void verify(List<X509Certificate> chain, Instant at) {
    List<X509Certificate> path = new ArrayList<>(chain);
    if (path.isEmpty()) {
      throw new CaException(Reason.UNTRUSTED_CERTIFICATE, "no certificate was presented");
    }
    // PKIX wants the path without its anchor
    if (path.size() > 1 && roots.contains(path.get(path.size() - 1))) {
      path.remove(path.size() - 1);
    }
    try {
      Set<TrustAnchor> anchors = new LinkedHashSet<>();
      roots.forEach(root -> anchors.add(new TrustAnchor(root, null)));
      PKIXParameters parameters = new PKIXParameters(anchors);
      // leaves live for hours and are rotated at half-life; revocation is by expiry
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(at));
      CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
      CertPathValidator.getInstance("PKIX").validate(certPath, parameters);
    } catch (GeneralSecurityException e) {
      throw new CaException(Reason.UNTRUSTED_CERTIFICATE, "certificate "
          + path.get(0).getSubjectX500Principal().getName() + " (serial " + path.get(0).getSerialNumber().toString(16)
          + ") does not verify against the trust bundle: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof TrustBundle bundle && bundle.roots.equals(roots);
  }

  @Override
  public int hashCode() {
    return roots.hashCode();
  }

  @Override
  public String toString() {
    return "TrustBundle" + roots.stream().map(r -> r.getSubjectX500Principal().getName()).toList();
  }
}
