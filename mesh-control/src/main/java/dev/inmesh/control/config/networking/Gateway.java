package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.IstioSpec;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's Gateway: the ports, hosts and TLS settings of an edge proxy picked by {@code selector}.
 * mesh-gateway is that proxy: a gateway workload whose labels the selector matches is sent the
 * Gateway's listeners and routes.
 */
public record Gateway(Map<String, String> selector, List<Server> servers) implements IstioSpec {
  public Gateway {
    selector = Map.copyOf(selector);
    servers = List.copyOf(servers);
  }

  /** One listener: a port, the hosts it serves, and how it terminates TLS. */
  public record Server(
      Port port,
      Optional<String> bind,
      List<String> hosts,
      Optional<ServerTls> tls,
      Optional<String> defaultEndpoint,
      Optional<String> name) {
    public Server {
      Objects.requireNonNull(port, "port");
      Objects.requireNonNull(bind, "bind");
      hosts = List.copyOf(hosts);
      if (hosts.isEmpty()) {
        throw new IllegalArgumentException("server config must contain at least one host");
      }
      Objects.requireNonNull(tls, "tls");
      Objects.requireNonNull(defaultEndpoint, "defaultEndpoint");
      Objects.requireNonNull(name, "name");
    }
  }

  /** {@code number} is 0 only for a Unix domain socket {@code bind}. */
  public record Port(int number, String protocol, String name, Optional<Integer> targetPort) {
    public Port {
      if (number < 0 || number > 65535) {
        throw new IllegalArgumentException("port number must be in the range 0..65535, got " + number);
      }
      Objects.requireNonNull(protocol, "protocol");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(targetPort, "targetPort");
    }
  }

  /** Istio's ServerTLSSettings mode; PASSTHROUGH is the default when {@code tls} is set without one. */
  public enum TlsMode { PASSTHROUGH, SIMPLE, MUTUAL, AUTO_PASSTHROUGH, ISTIO_MUTUAL, OPTIONAL_MUTUAL }

  public enum TlsProtocol { TLS_AUTO, TLSV1_0, TLSV1_1, TLSV1_2, TLSV1_3 }

  /** Istio's ServerTLSSettings; file paths and secret names are kept as written. */
  public record ServerTls(
      boolean httpsRedirect,
      TlsMode mode,
      Optional<String> serverCertificate,
      Optional<String> privateKey,
      Optional<String> caCertificates,
      Optional<String> credentialName,
      List<String> credentialNames,
      List<String> subjectAltNames,
      List<String> verifyCertificateSpki,
      List<String> verifyCertificateHash,
      TlsProtocol minProtocolVersion,
      TlsProtocol maxProtocolVersion,
      List<String> cipherSuites,
      Optional<String> caCrl,
      List<TlsCertificate> tlsCertificates) {
    public ServerTls {
      Objects.requireNonNull(mode, "mode");
      Objects.requireNonNull(serverCertificate, "serverCertificate");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(caCertificates, "caCertificates");
      Objects.requireNonNull(credentialName, "credentialName");
      credentialNames = List.copyOf(credentialNames);
      subjectAltNames = List.copyOf(subjectAltNames);
      verifyCertificateSpki = List.copyOf(verifyCertificateSpki);
      verifyCertificateHash = List.copyOf(verifyCertificateHash);
      Objects.requireNonNull(minProtocolVersion, "minProtocolVersion");
      Objects.requireNonNull(maxProtocolVersion, "maxProtocolVersion");
      cipherSuites = List.copyOf(cipherSuites);
      Objects.requireNonNull(caCrl, "caCrl");
      tlsCertificates = List.copyOf(tlsCertificates);
    }
  }

  /** One certificate of a server that offers several (for example RSA and ECDSA). */
  public record TlsCertificate(Optional<String> serverCertificate, Optional<String> privateKey,
      Optional<String> caCertificates) {
    public TlsCertificate {
      Objects.requireNonNull(serverCertificate, "serverCertificate");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(caCertificates, "caCertificates");
    }
  }
}
