package dev.inmesh.internal.security;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * Gets a CSR signed: mesh-ca-server over gRPC in production. Returns the chain leaf first, root
 * last, as Istio's CreateCertificate does.
 */
@FunctionalInterface
public interface CertificateSigner {
  List<X509Certificate> sign(String csrPem, Duration ttl) throws IOException;

  /**
   * Starts what the next {@link #sign} needs (the CA's connection) while the caller makes its key
   * and CSR; nothing by default.
   */
  default void prepare() {}
}
