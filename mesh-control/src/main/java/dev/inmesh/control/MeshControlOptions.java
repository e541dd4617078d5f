package dev.inmesh.control;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to run mesh-control. Port 0 picks a free port. Without a config directory only the API
 * feeds config; without a data directory what the API applies is lost on restart.
 */
public record MeshControlOptions(
    String bindAddress,
    int xdsPort,
    int httpPort,
    Optional<Path> configDir,
    Optional<Path> dataDir,
    Duration gracePeriod,
    Duration pollInterval,
    Optional<EmbeddedCa> ca,
    Optional<Etcd> etcd,
    Api api,
    List<String> serverNames,
    java.util.OptionalInt xdsReadOnlyPort,
    boolean insecureXds,
    List<String> trustDomainAliases) {

  /**
   * The operator API (apply, delete, tokens, root rotation, debug): where it listens (loopback
   * unless told otherwise; beyond loopback it is served over TLS with a certificate from the
   * embedded CA), and who may call it: the credentials in {@code tokens} (lines of
   * {@code <role> <name> sha256:<hex>}), or else an admin credential that mesh-control makes on its
   * first start and writes to {@code credentialFile} (default: {@code admin-credential} in the
   * data directory, or in a new temporary directory).
   */
  public record Api(String bindAddress, Optional<Path> tokens, Optional<Path> credentialFile) {
    public Api {
      Objects.requireNonNull(bindAddress, "bindAddress");
      Objects.requireNonNull(tokens, "tokens");
      Objects.requireNonNull(credentialFile, "credentialFile");
      if (tokens.isPresent() && credentialFile.isPresent()) {
        throw new IllegalArgumentException("an admin credential file is written only when mesh-control makes the admin"
            + " credential itself; with a token file (" + tokens.get() + ") there is none to write");
      }
    }

    /** On loopback, with an admin credential made at first start. */
    public static Api defaults() {
      return new Api("127.0.0.1", Optional.empty(), Optional.empty());
    }

    public Api withBindAddress(String address) {
      return new Api(address, tokens, credentialFile);
    }

    /** Callers are the credentials in this token file; none is made. */
    public Api withTokens(Path file) {
      return new Api(bindAddress, Optional.of(file), credentialFile);
    }

    /** Where the admin credential that mesh-control makes is written. */
    public Api withCredentialFile(Path file) {
      return new Api(bindAddress, tokens, Optional.of(file));
    }
  }

  /**
   * The CA that mesh-control runs in process by default: its trust domain, the ports of its gRPC
   * and HTTPS APIs (Istio's 15012, and 15013), and the root it signs under: PEM files that every
   * replica is given, or else one generated in the data directory.
   */
  public record EmbeddedCa(String trustDomain, int grpcPort, int httpsPort, Optional<RootFiles> root) {
    public EmbeddedCa {
      Objects.requireNonNull(trustDomain, "trustDomain");
      checkPort("ca grpcPort", grpcPort);
      checkPort("ca httpsPort", httpsPort);
      Objects.requireNonNull(root, "root");
    }

    public static EmbeddedCa of(String trustDomain, int grpcPort, int httpsPort) {
      return new EmbeddedCa(trustDomain, grpcPort, httpsPort, Optional.empty());
    }

    public EmbeddedCa withPorts(int grpc, int https) {
      return new EmbeddedCa(trustDomain, grpc, https, root);
    }

    public EmbeddedCa withTrustDomain(String domain) {
      return new EmbeddedCa(domain, grpcPort, httpsPort, root);
    }

    /** Signs under this root (certificate and private key, PEM) instead of a generated one. */
    public EmbeddedCa withRoot(Path certificate, Path privateKey) {
      return new EmbeddedCa(trustDomain, grpcPort, httpsPort, Optional.of(new RootFiles(certificate, privateKey)));
    }
  }

  /** A root CA certificate and its private key, both PEM files. */
  public record RootFiles(Path certificate, Path privateKey) {
    public RootFiles {
      Objects.requireNonNull(certificate, "certificate");
      Objects.requireNonNull(privateKey, "privateKey");
    }
  }

  /**
   * The replicated store: etcd at {@code endpoints}, keys under {@code prefix}, registry entries on
   * a lease of {@code leaseTtl} that the replica holding the workload's stream keeps alive; over
   * TLS (for {@code https} endpoints) and as an etcd user, when given.
   */
  public record Etcd(List<URI> endpoints, String prefix, Duration leaseTtl, Optional<EtcdTls> tls,
      Optional<EtcdUser> user) {
    public Etcd {
      endpoints = List.copyOf(endpoints);
      if (endpoints.isEmpty()) {
        throw new IllegalArgumentException("etcd needs at least one endpoint");
      }
      Objects.requireNonNull(prefix, "prefix");
      if (!prefix.startsWith("/") || !prefix.endsWith("/")) {
        throw new IllegalArgumentException("etcd prefix must start and end with '/', got '" + prefix + "'");
      }
      if (leaseTtl.compareTo(Duration.ofSeconds(2)) < 0 || leaseTtl.toMillis() % 1000 != 0) {
        throw new IllegalArgumentException("lease TTL must be whole seconds, at least 2s, got " + leaseTtl);
      }
      Objects.requireNonNull(tls, "tls");
      Objects.requireNonNull(user, "user");
      long secure = endpoints.stream().filter(e -> "https".equals(e.getScheme())).count();
      if (secure != 0 && secure != endpoints.size()) {
        throw new IllegalArgumentException("etcd endpoints are all https or all http, got " + endpoints);
      }
    }

    /**
     * Checks that TLS is set exactly for https endpoints; called before connecting, since the
     * endpoints and the TLS files are given one after the other.
     *
     * @throws IllegalArgumentException naming the flag that is missing or out of place
     */
    public Etcd requireTlsForHttps() {
      boolean secure = "https".equals(endpoints.get(0).getScheme());
      if (secure && tls.isEmpty()) {
        throw new IllegalArgumentException("https etcd endpoints need the CA that signs etcd's certificates: --etcd-cacert FILE");
      }
      if (!secure && tls.isPresent()) {
        throw new IllegalArgumentException("--etcd-cacert, --etcd-cert and --etcd-key are for https endpoints, got " + endpoints);
      }
      return this;
    }

    /** Keys under {@code /inmesh/}, a 10 s lease, no TLS, no user. */
    public static Etcd of(List<URI> endpoints) {
      return new Etcd(endpoints, "/inmesh/", Duration.ofSeconds(10), Optional.empty(), Optional.empty());
    }

    public Etcd withPrefix(String value) {
      return new Etcd(endpoints, value, leaseTtl, tls, user);
    }

    public Etcd withLeaseTtl(Duration ttl) {
      return new Etcd(endpoints, prefix, ttl, tls, user);
    }

    public Etcd withTls(EtcdTls value) {
      return new Etcd(endpoints, prefix, leaseTtl, Optional.of(value), user);
    }

    public Etcd withUser(EtcdUser value) {
      return new Etcd(endpoints, prefix, leaseTtl, tls, Optional.of(value));
    }
  }

  /**
   * TLS to etcd: the CA that signs its certificates (PEM), and the client certificate and PKCS#8
   * key that etcd's {@code --client-cert-auth} asks for.
   */
  public record EtcdTls(Path ca, Optional<Path> clientCertificate, Optional<Path> clientKey) {
    public EtcdTls {
      Objects.requireNonNull(ca, "ca");
      Objects.requireNonNull(clientCertificate, "clientCertificate");
      Objects.requireNonNull(clientKey, "clientKey");
      if (clientCertificate.isPresent() != clientKey.isPresent()) {
        throw new IllegalArgumentException("--etcd-cert and --etcd-key go together");
      }
    }
  }

  /** An etcd user (etcd's auth), whose password is read from a file so that it is on no command line. */
  public record EtcdUser(String name, Path passwordFile) {
    public EtcdUser {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(passwordFile, "passwordFile");
      if (name.isBlank()) {
        throw new IllegalArgumentException("the etcd user name is empty");
      }
    }
  }

  public MeshControlOptions {
    Objects.requireNonNull(bindAddress, "bindAddress");
    checkPort("xdsPort", xdsPort);
    checkPort("httpPort", httpPort);
    Objects.requireNonNull(configDir, "configDir");
    Objects.requireNonNull(dataDir, "dataDir");
    if (gracePeriod.isNegative()) {
      throw new IllegalArgumentException("gracePeriod must not be negative, got " + gracePeriod);
    }
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, got " + pollInterval);
    }
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(etcd, "etcd");
    Objects.requireNonNull(api, "api");
    serverNames = List.copyOf(serverNames);
    Objects.requireNonNull(xdsReadOnlyPort, "xdsReadOnlyPort");
    xdsReadOnlyPort.ifPresent(port -> checkPort("xdsReadOnlyPort", port));
    trustDomainAliases = List.copyOf(trustDomainAliases);
    for (String alias : trustDomainAliases) {
      if (alias.isBlank() || alias.contains("/")) {
        throw new IllegalArgumentException("a trust domain alias is a name without '/', got '" + alias + "'");
      }
    }
  }

  /**
   * The mesh's trust domain: the embedded CA's, else {@code cluster.local} (a mesh-control without
   * a CA serves workloads whose certificates come from elsewhere, under Istio's default).
   */
  public String trustDomain() {
    return ca.map(EmbeddedCa::trustDomain).orElse("cluster.local");
  }

  /**
   * Istio's {@code meshConfig.trustDomainAliases}: trust domains that authorization treats as the
   * mesh's own, so that a principal written for one of them (or for {@code cluster.local}) also
   * matches the same namespace and service account in every other, as after a trust domain
   * migration. Used only in authorization; certificates are still issued and verified for the
   * trust domain alone.
   */
  public MeshControlOptions withTrustDomainAliases(List<String> aliases) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca, etcd,
        api, serverNames, xdsReadOnlyPort, insecureXds, aliases);
  }

  /** Istio's ports: 15010 for xDS, 15014 for the HTTP API; a 10 s grace period; 500 ms polling. */
  public static MeshControlOptions defaults() {
    return new MeshControlOptions("127.0.0.1", 15010, 15014, Optional.empty(), Optional.empty(),
        Duration.ofSeconds(10), Duration.ofMillis(500), Optional.of(EmbeddedCa.of("cluster.local", 15012, 15013)),
        Optional.empty(), Api.defaults(), List.of(),
        java.util.OptionalInt.empty(), false, List.of());
  }

  /** Free ports for everything, as tests and embedded demos want. */
  public static MeshControlOptions ephemeral() {
    return defaults().withPorts(0, 0).withCa(EmbeddedCa.of("cluster.local", 0, 0));
  }

  public MeshControlOptions withCa(EmbeddedCa embedded) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval,
        Optional.of(embedded), etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  /** No embedded CA: workloads get their certificates elsewhere, or none. */
  public MeshControlOptions withoutCa() {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval,
        Optional.empty(), etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  public MeshControlOptions withPorts(int xds, int http) {
    return new MeshControlOptions(bindAddress, xds, http, configDir, dataDir, gracePeriod, pollInterval, ca, etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  public MeshControlOptions withConfigDir(Path dir) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, Optional.of(dir), dataDir, gracePeriod, pollInterval, ca, etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  public MeshControlOptions withDataDir(Path dir) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, Optional.of(dir), gracePeriod, pollInterval, ca, etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  public MeshControlOptions withGracePeriod(Duration grace) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, grace, pollInterval, ca, etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  public MeshControlOptions withPollInterval(Duration interval) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, interval, ca, etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  public MeshControlOptions withBindAddress(String address) {
    return new MeshControlOptions(address, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca, etcd, api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  /** Runs on etcd, as one of several replicas, instead of the embedded in-memory store. */
  public MeshControlOptions withEtcd(Etcd store) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca,
        Optional.of(store), api, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  /** Where the operator API listens and who may call it. */
  public MeshControlOptions withApi(Api value) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca, etcd,
        value, serverNames, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  /**
   * The names (DNS names or IP addresses) that workloads and operators reach this server by; its
   * TLS certificates name them, besides localhost, the bind addresses and the host's name.
   */
  public MeshControlOptions withServerNames(List<String> names) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca, etcd,
        api, names, xdsReadOnlyPort, insecureXds, trustDomainAliases);
  }

  /**
   * Opens a plaintext xDS port beside the mutual TLS one, for clients that cannot present a mesh
   * certificate (grpc-js, a grpc-java bootstrap with {@code insecure} credentials): it serves
   * config to anyone who reaches it, and registers no one. Off by default.
   */
  public MeshControlOptions withXdsReadOnlyPort(int port) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca, etcd,
        api, serverNames, java.util.OptionalInt.of(port), insecureXds, trustDomainAliases);
  }

  /**
   * Serves xDS in plaintext and registers workloads by what their nodes claim: the only way a
   * mesh-control without a CA can serve xDS, so {@link #withoutCa()} needs it said out loud. Run so
   * only where every host that can reach the xDS port is trusted.
   */
  public MeshControlOptions withInsecureXds() {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval, ca, etcd,
        api, serverNames, xdsReadOnlyPort, true, trustDomainAliases);
  }

  private static void checkPort(String field, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(field + " must be between 0 and 65535, got " + port);
    }
  }
}
