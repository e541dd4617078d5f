package dev.inmesh.internal.inbound;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.SpiffeTrustManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * The server side of mesh mutual TLS: the workload's certificate (the newest one at each handshake,
 * so rotation needs nothing here), a client certificate required, and any SPIFFE identity that
 * chains to a mesh root trusted (the roots are read per handshake; authorization decides who may
 * do what). TLS 1.3, and 1.2 for older clients.
 */
final class InboundTls {
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  /** What a completed handshake tells about the client. */
  record Handshake(SSLSocket socket, SpiffeId principal, Optional<String> sni) {}

  private final SSLSocketFactory factory;
  private final String[] applicationProtocols;

  InboundTls(CertificateManager certificates, Clock clock, List<String> applicationProtocols) {
    this.applicationProtocols = applicationProtocols.toArray(String[]::new);
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {certificates.keyManager()},
          new TrustManager[] {new SpiffeTrustManager(certificates::trustAnchors, peer -> true, clock)}, null);
      this.factory = context.getSocketFactory();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK 17 has TLS 1.3 with a custom key and trust manager", e);
    }
  }

  /**
   * Runs the server handshake over {@code raw}, whose first byte the door has already read.
   * Throws when the client presents no certificate or one the mesh does not trust; the caller closes.
   */
  Handshake handshake(Socket raw, int firstByte, int timeoutMillis) throws IOException {
    SSLSocket socket = (SSLSocket) factory.createSocket(raw, new ByteArrayInputStream(new byte[] {(byte) firstByte}), true);
    socket.setUseClientMode(false);
    socket.setEnabledProtocols(PROTOCOLS);
    socket.setNeedClientAuth(true);
    if (applicationProtocols.length > 0) {
      javax.net.ssl.SSLParameters parameters = socket.getSSLParameters();
      parameters.setApplicationProtocols(applicationProtocols);
      socket.setSSLParameters(parameters);
    }
    socket.setSoTimeout(timeoutMillis);
    socket.startHandshake();
    SSLSession session = socket.getSession();
    Certificate[] chain = session.getPeerCertificates();
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      throw new IOException("the client presented no X.509 certificate");
    }
    SpiffeId principal = SpiffeId.of(leaf).orElseThrow(() -> new IOException("the client certificate has no SPIFFE ID"));
    socket.setSoTimeout(0);
    return new Handshake(socket, principal, sni(session));
  }

  private static Optional<String> sni(SSLSession session) {
    if (!(session instanceof ExtendedSSLSession extended)) {
      return Optional.empty();
    }
    List<SNIServerName> names = extended.getRequestedServerNames();
    return names.stream()
        .filter(SNIHostName.class::isInstance)
        .map(n -> ((SNIHostName) n).getAsciiName())
        .findFirst();
  }
}
