package dev.inmesh.ca;

import dev.inmesh.ca.internal.Pem;
import dev.inmesh.identity.SpiffeId;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** A signed leaf with its chain: leaf, intermediate, root, as Istio's {@code cert_chain}. */
public record IssuedCertificate(SpiffeId identity, List<X509Certificate> chain) {
  public IssuedCertificate {
    Objects.requireNonNull(identity, "identity");
    chain = List.copyOf(chain);
    if (chain.size() < 2) {
      throw new IllegalArgumentException("a chain holds at least the leaf and its issuer, got " + chain.size());
    }
  }

  public X509Certificate leaf() {
    return chain.get(0);
  }

  /** One PEM block per certificate, in chain order. */
  public List<String> pemChain() {
    return chain.stream().map(Pem::encode).toList();
  }
}
