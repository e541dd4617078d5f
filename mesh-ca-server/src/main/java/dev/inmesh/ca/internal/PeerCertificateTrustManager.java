package dev.inmesh.ca.internal;

import dev.inmesh.ca.TrustBundle;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Accepts any client certificate chain during the handshake, which still proves that the client
 * holds the leaf's private key. The chain is judged afterwards, for every request, by
 * {@code CertificateAuthority.sign} against the current trust bundle and the CA's clock: a
 * handshake failure would leave the workload with a TLS alert instead of a message saying that its
 * certificate has expired or belongs to another identity.
 */
public final class PeerCertificateTrustManager extends X509ExtendedTrustManager {
  private final Supplier<TrustBundle> bundle;

  public PeerCertificateTrustManager(Supplier<TrustBundle> bundle) {
    this.bundle = bundle;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("an empty client certificate chain");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("the CA's servers do not connect to other servers");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  /** Tells clients which roots' certificates are worth presenting. */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return bundle.get().roots().toArray(X509Certificate[]::new);
  }
}
