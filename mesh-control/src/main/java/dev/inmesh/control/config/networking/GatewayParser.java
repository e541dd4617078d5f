package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.networking.Gateway.Port;
import dev.inmesh.control.config.networking.Gateway.Server;
import dev.inmesh.control.config.networking.Gateway.ServerTls;
import dev.inmesh.control.config.networking.Gateway.TlsCertificate;
import dev.inmesh.control.config.networking.Gateway.TlsMode;
import dev.inmesh.control.config.networking.Gateway.TlsProtocol;
import dev.inmesh.control.config.security.IpAddresses;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a Gateway with Istio's rules (CRD schema and the admission webhook's server, port, bind,
 * host and TLS checks). mesh-gateway serves it ({@code translate.GatewayTranslator}); what a
 * gateway cannot serve is warned about when it is translated for one.
 */
public final class GatewayParser implements SpecParser<Gateway> {
  private static final String UNIX_PREFIX = "unix://";
  private static final Set<String> PROTOCOLS = Set.of(
      "HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "HTTP_PROXY", "MONGO", "REDIS", "MYSQL", "TCP", "TLS", "UDP");
  private static final Set<String> HTTP_PROTOCOLS = Set.of("HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB");
  private static final Set<String> TLS_PROTOCOLS = Set.of("HTTPS", "TLS");
  private static final int MAX_CERTIFICATES = 2;

  public GatewayParser() {}

  @Override
  public Gateway parse(SpecReader spec, String namespace) {
    Map<String, String> selector = spec.stringMap("selector");
    NetworkingFields.checkLabels(spec, "selector", selector);
    long before = errorCount(spec);
    List<SpecReader> readers = spec.list("servers");
    if (readers.isEmpty() && errorCount(spec) == before) {
      spec.error("servers", "gateway must have at least one server");
    }
    List<Server> servers = new ArrayList<>();
    Set<String> portNames = new HashSet<>();
    for (SpecReader server : readers) {
      readServer(server, portNames).ifPresent(servers::add);
      server.finish();
    }
    return new Gateway(selector, servers);
  }

  private static Optional<Server> readServer(SpecReader server, Set<String> portNames) {
    long before = errorCount(server);
    Optional<String> bind = server.string("bind").filter(b -> !b.isEmpty());
    boolean unixSocket = bind.isPresent() && bind.get().startsWith(UNIX_PREFIX);
    Optional<Port> port = server.object("port").flatMap(reader -> {
      Optional<Port> read = readPort(reader, unixSocket, portNames);
      reader.finish();
      return read;
    });
    if (!server.has("port")) {
      server.error("port", "Required value: port is required");
    }
    bind.ifPresent(address -> checkBind(server, address, port));

    List<String> hosts = server.stringList("hosts");
    if (hosts.isEmpty()) {
      server.error("hosts", "Required value: server config must contain at least one host");
    }
    for (int i = 0; i < hosts.size(); i++) {
      checkHost(server, "hosts[" + i + "]", hosts.get(i));
    }

    String protocol = port.map(Port::protocol).orElse("").toUpperCase(Locale.ROOT);
    Optional<ServerTls> tls = server.object("tls").map(reader -> {
      ServerTls read = readTls(reader);
      reader.finish();
      return read;
    });
    if (port.isPresent()) {
      checkTlsForProtocol(server, protocol, tls);
    }
    Optional<String> defaultEndpoint = server.string("defaultEndpoint").filter(s -> !s.isEmpty());
    Optional<String> name = server.string("name").filter(s -> !s.isEmpty());
    if (errorCount(server) > before || port.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new Server(port.get(), bind, hosts, tls, defaultEndpoint, name));
  }

  private static Optional<Port> readPort(SpecReader port, boolean unixSocket, Set<String> portNames) {
    boolean valid = true;
    Optional<Long> number = port.integer("number", 0, 0xFFFF_FFFFL);
    if (!port.has("number")) {
      port.error("number", "Required value");
      valid = false;
    } else if (number.isEmpty()) {
      valid = false;
    } else if (!(unixSocket && number.get() == 0) && (number.get() < 1 || number.get() > 65535)) {
      port.error("number", "port number " + number.get() + " must be in the range 1..65535");
      valid = false;
    }
    String protocol = port.requiredString("protocol");
    if (!protocol.isEmpty() && !PROTOCOLS.contains(protocol.toUpperCase(Locale.ROOT))) {
      port.error("protocol", "invalid protocol '" + protocol + "', supported protocols are HTTP, HTTPS, HTTP2,"
          + " GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP, TLS");
      valid = false;
    }
    String name = port.requiredString("name");
    if (!name.isEmpty() && !portNames.add(name)) {
      port.error("name", "port names in servers must be unique: duplicate name " + name);
      valid = false;
    }
    Optional<Long> targetPort = port.integer("targetPort", 0, 0xFFFF_FFFFL);
    if (targetPort.filter(p -> p > 0).isPresent()) {
      port.error("targetPort", "targetPort has no impact on Gateways; leave it out");
      valid = false;
    }
    valid &= !protocol.isEmpty() && !name.isEmpty();
    return valid ? Optional.of(new Port(number.get().intValue(), protocol, name, Optional.empty())) : Optional.empty();
  }

  private static void checkBind(SpecReader server, String bind, Optional<Port> port) {
    if (bind.startsWith(UNIX_PREFIX)) {
      String path = bind.substring(UNIX_PREFIX.length());
      if (!(path.startsWith("/") || path.startsWith("@")) || path.endsWith("/")) {
        server.error("bind", "a Unix domain socket must be an absolute file path or an abstract socket"
            + " (@name), got '" + bind + "'");
      }
      if (port.isPresent() && port.get().number() != 0) {
        server.error("port.number", "port number must be 0 for a Unix domain socket, got " + port.get().number());
      }
    } else if (!IpAddresses.isIp(bind)) {
      server.error("bind", "must be an IP address or unix://<path>, got '" + bind + "'");
    }
  }

  /** Gateway hosts are {@code dnsName} or {@code namespace/dnsName}; namespace may be {@code *} or {@code .}. */
  private static void checkHost(SpecReader server, String field, String host) {
    int slash = host.indexOf('/');
    String dnsName = host;
    if (slash >= 0) {
      String namespace = host.substring(0, slash);
      dnsName = host.substring(slash + 1);
      if (namespace.isEmpty() || dnsName.isEmpty()) {
        server.error(field, "config namespace and dnsName in host entry cannot be empty, got '" + host + "'");
        return;
      }
      if (!namespace.equals("*") && !namespace.equals(".") && !namespace.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
        server.error(field, "invalid namespace value '" + namespace + "' in gateway host '" + host + "'");
        return;
      }
    }
    if (!NetworkingFields.isValidWildcardHost(dnsName)) {
      server.error(field, "invalid host '" + dnsName + "': must be a DNS name, optionally starting with *.");
    }
  }

  private static ServerTls readTls(SpecReader tls) {
    boolean httpsRedirect = tls.bool("httpsRedirect").orElse(false);
    TlsMode mode = tls.enumValue("mode", TlsMode.class).orElse(TlsMode.PASSTHROUGH);
    Optional<String> serverCertificate = text(tls, "serverCertificate");
    Optional<String> privateKey = text(tls, "privateKey");
    Optional<String> caCertificates = text(tls, "caCertificates");
    Optional<String> credentialName = text(tls, "credentialName");
    List<String> credentialNames = nonEmpty(tls, "credentialNames");
    List<String> subjectAltNames = nonEmpty(tls, "subjectAltNames");
    List<String> spki = nonEmpty(tls, "verifyCertificateSpki");
    List<String> hash = nonEmpty(tls, "verifyCertificateHash");
    TlsProtocol min = tls.enumValue("minProtocolVersion", TlsProtocol.class).orElse(TlsProtocol.TLS_AUTO);
    TlsProtocol max = tls.enumValue("maxProtocolVersion", TlsProtocol.class).orElse(TlsProtocol.TLS_AUTO);
    List<String> cipherSuites = nonEmpty(tls, "cipherSuites");
    Optional<String> caCrl = text(tls, "caCrl");
    List<TlsCertificate> certificates = new ArrayList<>();
    for (SpecReader certificate : tls.list("tlsCertificates")) {
      certificates.add(new TlsCertificate(text(certificate, "serverCertificate"), text(certificate, "privateKey"),
          text(certificate, "caCertificates")));
      certificate.finish();
    }

    if (credentialNames.size() > MAX_CERTIFICATES) {
      tls.error("credentialNames", "must have at most " + MAX_CERTIFICATES + " items, got " + credentialNames.size());
    }
    if (certificates.size() > MAX_CERTIFICATES) {
      tls.error("tlsCertificates", "must have at most " + MAX_CERTIFICATES + " items, got " + certificates.size());
    }
    if (credentialName.isPresent() && !credentialNames.isEmpty()) {
      tls.error("credentialNames", "only one of credentialName or credentialNames can be set");
    }
    boolean fileCertificate = serverCertificate.isPresent() || privateKey.isPresent();
    if (!certificates.isEmpty() && fileCertificate) {
      tls.error("tlsCertificates", "only one of serverCertificate/privateKey or tlsCertificates can be set");
    }
    if (!certificates.isEmpty() && (credentialName.isPresent() || !credentialNames.isEmpty())) {
      tls.error("tlsCertificates", "only one of credentialName(s) or tlsCertificates can be set");
    }
    if (min != TlsProtocol.TLS_AUTO && max != TlsProtocol.TLS_AUTO && min.compareTo(max) > 0) {
      tls.error("minProtocolVersion", "minProtocolVersion " + min + " must not be above maxProtocolVersion " + max);
    }
    Set<String> seenCiphers = new HashSet<>();
    for (String cipher : cipherSuites) {
      if (!seenCiphers.add(cipher)) {
        tls.warn("cipherSuites", "duplicate cipher suite '" + cipher + "' is ignored");
      }
    }
    checkCertificatesForMode(tls, mode, serverCertificate, privateKey, caCertificates, credentialName,
        credentialNames, certificates, caCrl);
    return new ServerTls(httpsRedirect, mode, serverCertificate, privateKey, caCertificates, credentialName,
        credentialNames, subjectAltNames, spki, hash, min, max, cipherSuites, caCrl, certificates);
  }

  private static void checkCertificatesForMode(SpecReader tls, TlsMode mode, Optional<String> serverCertificate,
      Optional<String> privateKey, Optional<String> caCertificates, Optional<String> credentialName,
      List<String> credentialNames, List<TlsCertificate> certificates, Optional<String> caCrl) {
    boolean credentials = credentialName.isPresent() || !credentialNames.isEmpty();
    switch (mode) {
      case ISTIO_MUTUAL -> {
        // the mesh's own certificates are used, so any other source is a contradiction
        for (String field : new String[] {"serverCertificate", "privateKey", "caCertificates", "credentialName",
            "credentialNames", "tlsCertificates"}) {
          if (tls.has(field)) {
            tls.error(field, "ISTIO_MUTUAL TLS cannot have an associated " + field);
          }
        }
      }
      case PASSTHROUGH, AUTO_PASSTHROUGH -> {
        if (serverCertificate.isPresent() || privateKey.isPresent() || caCertificates.isPresent() || credentials
            || !certificates.isEmpty() || caCrl.isPresent()) {
          tls.warn("mode", mode + " mode does not use certificates, they will be ignored");
        }
      }
      case SIMPLE, MUTUAL, OPTIONAL_MUTUAL -> {
        if (credentials) {
          return; // the secret holds the key pair and, for MUTUAL, the client CA
        }
        String label = mode == TlsMode.SIMPLE ? "SIMPLE" : "MUTUAL";
        if (!certificates.isEmpty()) {
          for (int i = 0; i < certificates.size(); i++) {
            TlsCertificate certificate = certificates.get(i);
            if (certificate.serverCertificate().isEmpty()) {
              tls.error("tlsCertificates[" + i + "].serverCertificate", label + " TLS requires a server certificate");
            }
            if (certificate.privateKey().isEmpty()) {
              tls.error("tlsCertificates[" + i + "].privateKey", label + " TLS requires a private key");
            }
          }
        } else {
          if (serverCertificate.isEmpty()) {
            tls.error("serverCertificate", label + " TLS requires a server certificate");
          }
          if (privateKey.isEmpty()) {
            tls.error("privateKey", label + " TLS requires a private key");
          }
        }
        boolean clientCa = caCertificates.isPresent()
            || certificates.stream().anyMatch(c -> c.caCertificates().isPresent());
        if (mode != TlsMode.SIMPLE && !clientCa) {
          tls.error("caCertificates", "MUTUAL TLS requires a client CA bundle");
        }
      }
      default -> throw new IllegalStateException("unhandled TLS mode " + mode);
    }
  }

  private static void checkTlsForProtocol(SpecReader server, String protocol, Optional<ServerTls> tls) {
    if (tls.filter(ServerTls::httpsRedirect).isPresent() && !HTTP_PROTOCOLS.contains(protocol)) {
      server.warn("tls.httpsRedirect", "should only be used with HTTP servers, got protocol " + protocol);
    }
    if (TLS_PROTOCOLS.contains(protocol)) {
      if (tls.isEmpty()) {
        server.error("tls", "server must have TLS settings for HTTPS/TLS protocols");
      }
      return;
    }
    if (tls.isEmpty()) {
      return;
    }
    ServerTls settings = tls.get();
    if (!HTTP_PROTOCOLS.contains(protocol)) {
      server.error("tls", "server cannot have TLS settings for non HTTPS/TLS ports");
      return;
    }
    // a plain-text HTTP server may only carry httpsRedirect
    boolean passthrough = settings.mode() == TlsMode.PASSTHROUGH || settings.mode() == TlsMode.AUTO_PASSTHROUGH;
    if (!passthrough || settings.serverCertificate().isPresent() || settings.privateKey().isPresent()
        || settings.caCertificates().isPresent()) {
      server.error("tls", "server cannot have TLS settings for plain text HTTP ports");
    }
  }

  private static Optional<String> text(SpecReader reader, String field) {
    return reader.string(field).filter(s -> !s.isEmpty());
  }

  private static List<String> nonEmpty(SpecReader reader, String field) {
    List<String> values = reader.stringList(field);
    for (int i = 0; i < values.size(); i++) {
      if (values.get(i).isEmpty()) {
        reader.error(field + "[" + i + "]", "must not be empty");
      }
    }
    return values;
  }

  private static long errorCount(SpecReader reader) {
    return reader.diagnostics().problems().stream().filter(Problem::isError).count();
  }
}
