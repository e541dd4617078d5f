package dev.inmesh.internal.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a server whose certificate chains to one of the roots {@code roots} returns at the time
 * of the handshake (so a root rotation is followed without a new channel), checked by the JDK's
 * own PKIX trust manager: with the host name checked against the certificate wherever the TLS
 * engine asks for it, as gRPC's client does. For control-plane servers, which are known by name;
 * mesh workloads are known by SPIFFE ID instead ({@link SpiffeTrustManager}).
 */
public final class RootsTrustManager extends X509ExtendedTrustManager {
  private final Supplier<List<X509Certificate>> roots;
  private List<X509Certificate> built = List.of();
  private X509ExtendedTrustManager delegate;

  public RootsTrustManager(Supplier<List<X509Certificate>> roots) {
    this.roots = roots;
  }

  private synchronized X509ExtendedTrustManager delegate() throws CertificateException {
    List<X509Certificate> current = List.copyOf(roots.get());
    if (current.isEmpty()) {
      throw new CertificateException("no root to verify the server with");
    }
    if (delegate == null || !current.equals(built)) {
      try {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        for (int i = 0; i < current.size(); i++) {
          store.setCertificateEntry("root-" + i, current.get(i));
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
        factory.init(store);
        for (TrustManager manager : factory.getTrustManagers()) {
          if (manager instanceof X509ExtendedTrustManager extended) {
            delegate = extended;
            built = current;
            return delegate;
          }
        }
        throw new CertificateException("the JDK offers no X509ExtendedTrustManager for PKIX");
      } catch (GeneralSecurityException | java.io.IOException e) {
        throw new CertificateException("cannot trust the roots: " + e.getMessage(), e);
      }
    }
    return delegate;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate().checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    throw new CertificateException("this trust manager verifies servers only");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    throw new CertificateException("this trust manager verifies servers only");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("this trust manager verifies servers only");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return roots.get().toArray(X509Certificate[]::new);
  }
}
