package dev.inmesh.internal.model;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * TLS that the client originates itself to a server outside the mesh's identities: a
 * DestinationRule's {@code SIMPLE} or {@code MUTUAL} mode, sent as Envoy's file-based
 * UpstreamTlsContext. The application calls {@code http://}; the client speaks TLS to the endpoint.
 * The files are on the client's machine, as they are on the sidecar's in Istio, and are read when a
 * connection is made, so that a replaced file is used from the next connection on.
 *
 * @param trust what the server's certificate must chain to
 * @param crl a PEM file of revoked certificates ({@code caCrl}); a chain certificate it lists is refused
 * @param clientCertificate the certificate and key presented under {@code MUTUAL}
 * @param autoSni when no {@code sni} is configured, send the request's host (Istio's default, Envoy's {@code auto_sni})
 * @param autoSanValidation when no {@code subjectAltNames} are configured, the server's certificate must
 *     name the host sent as SNI (Istio's default, Envoy's {@code auto_san_validation})
 */
public record TlsOrigination(ServerTrust trust, Optional<Path> crl, Optional<ClientCertificate> clientCertificate,
    boolean autoSni, boolean autoSanValidation) {

  /** Where the server's certificate must chain to. */
  public sealed interface ServerTrust permits CaFile, SystemRoots, AnyServer {}

  /** The CA certificates in a PEM file ({@code caCertificates}). */
  public record CaFile(Path file) implements ServerTrust {
    public CaFile {
      Objects.requireNonNull(file, "file");
    }
  }

  /** The JVM's default trust store: Istio's OS roots when {@code caCertificates} is absent. */
  public record SystemRoots() implements ServerTrust {}

  /** No verification at all ({@code insecureSkipVerify: true}). */
  public record AnyServer() implements ServerTrust {}

  /** A PEM certificate chain and its PKCS#8 PEM private key. */
  public record ClientCertificate(Path certificateChain, Path privateKey) {
    public ClientCertificate {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
    }
  }

  public TlsOrigination {
    Objects.requireNonNull(trust, "trust");
    Objects.requireNonNull(crl, "crl");
    Objects.requireNonNull(clientCertificate, "clientCertificate");
  }
}
