package dev.inmesh.ca.internal;

import dev.inmesh.ca.CaException;
import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.Credential;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/** The credential of a request, the same way for gRPC and HTTPS. */
public final class RequestCredentials {
  private static final String BEARER = "Bearer ";

  private RequestCredentials() {}

  /**
   * A join token in the {@code authorization} header wins over a client certificate: a workload
   * bootstrapping with a token may still present an old certificate.
   *
   * @param authorization the header value, or null
   * @param session the TLS session, or null
   */
  public static Credential of(String authorization, SSLSession session) {
    if (authorization != null) {
      if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
          || authorization.substring(BEARER.length()).isBlank()) {
        throw new CaException(Reason.BAD_TOKEN, "the authorization header must be 'Bearer <join token>'");
      }
      return new Credential.Token(authorization.substring(BEARER.length()).trim());
    }
    if (session != null) {
      try {
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate certificate : session.getPeerCertificates()) {
          chain.add((X509Certificate) certificate);
        }
        return new Credential.PeerCertificate(chain);
      } catch (SSLPeerUnverifiedException e) {
        // no client certificate: fall through
      }
    }
    return Credential.none();
  }
}
