package dev.inmesh.internal.security;

import dev.inmesh.identity.SpiffeId;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer by its SPIFFE identity, not its host name: the chain must lead to one of the mesh's
 * roots (several during a root rotation), the leaf must carry exactly one SPIFFE ID, and that ID
 * must be one this connection accepts. Every refusal says which of these failed.
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {
  private final Supplier<? extends Collection<X509Certificate>> roots;
  private final Predicate<SpiffeId> acceptPeer;
  private final Clock clock;

  public SpiffeTrustManager(Supplier<? extends Collection<X509Certificate>> roots, Predicate<SpiffeId> acceptPeer, Clock clock) {
    this.roots = roots;
    this.acceptPeer = acceptPeer;
    this.clock = clock;
  }

  /** Verifies a peer chain and returns its identity. */
  public SpiffeId verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer presented no certificate");
    }
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate root : roots.get()) {
      anchors.add(new TrustAnchor(root, null));
    }
    if (anchors.isEmpty()) {
      throw new CertificateException("no mesh root is trusted yet");
    }
    try {
      List<X509Certificate> path = Arrays.stream(chain)
          .filter(c -> anchors.stream().noneMatch(a -> a.getTrustedCert().equals(c)))
          .toList();
      CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
      PKIXParameters parameters = new PKIXParameters(anchors);
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(clock.instant()));
      CertPathValidator.getInstance("PKIX").validate(certPath, parameters);
    } catch (GeneralSecurityException e) {
      throw new CertificateException("the peer certificate does not chain to a mesh root: " + e.getMessage(), e);
    }
    SpiffeId peer = SpiffeId.of(chain[0]).orElseThrow(() -> new CertificateException(
        "the peer certificate has no SPIFFE ID (URI SANs: " + SpiffeId.uriSans(chain[0]) + ")"));
    if (!acceptPeer.test(peer)) {
      throw new CertificateException("peer " + peer + " is not an identity this connection accepts");
    }
    return peer;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    verify(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return roots.get().toArray(X509Certificate[]::new);
  }
}
