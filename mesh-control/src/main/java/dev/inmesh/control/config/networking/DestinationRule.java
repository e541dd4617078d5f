package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.IstioSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Istio's DestinationRule: the policy for traffic to a host, and its named subsets. */
public record DestinationRule(String host, Optional<TrafficPolicy> trafficPolicy, List<Subset> subsets,
    List<String> exportTo) implements IstioSpec {
  public DestinationRule {
    subsets = List.copyOf(subsets);
    exportTo = List.copyOf(exportTo);
  }

  public Optional<Subset> subset(String name) {
    return subsets.stream().filter(s -> s.name().equals(name)).findFirst();
  }

  public record Subset(String name, Map<String, String> labels, Optional<TrafficPolicy> trafficPolicy) {
    public Subset {
      labels = Map.copyOf(labels);
    }
  }

  /** A traffic policy; every part is optional so that a subset's policy can override field by field. */
  public record TrafficPolicy(
      Optional<LoadBalancer> loadBalancer,
      Optional<ConnectionPool> connectionPool,
      Optional<OutlierDetection> outlierDetection,
      Optional<ClientTls> tls,
      List<PortPolicy> portLevelSettings,
      Optional<RetryBudget> retryBudget) {
    public TrafficPolicy {
      portLevelSettings = List.copyOf(portLevelSettings);
    }

    public static final TrafficPolicy NONE =
        new TrafficPolicy(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), List.of(), Optional.empty());

    /**
     * The policy for one port. As Istio documents it, port-level settings replace the
     * destination-level ones for that port and inherit nothing from them: what the port level
     * omits gets the defaults. The retry budget has no port level and stays.
     */
    public TrafficPolicy forPort(int port) {
      for (PortPolicy portPolicy : portLevelSettings) {
        if (portPolicy.port() == port) {
          return new TrafficPolicy(portPolicy.loadBalancer(), portPolicy.connectionPool(),
              portPolicy.outlierDetection(), portPolicy.tls(), List.of(), retryBudget);
        }
      }
      return this;
    }

    /** This policy with {@code override}'s parts in place of its own, as a subset's policy applies. */
    public TrafficPolicy overriddenBy(TrafficPolicy override) {
      return new TrafficPolicy(
          override.loadBalancer().or(() -> loadBalancer),
          override.connectionPool().or(() -> connectionPool),
          override.outlierDetection().or(() -> outlierDetection),
          override.tls().or(() -> tls),
          override.portLevelSettings().isEmpty() ? portLevelSettings : override.portLevelSettings(),
          override.retryBudget().or(() -> retryBudget));
    }
  }

  public record PortPolicy(int port, Optional<LoadBalancer> loadBalancer, Optional<ConnectionPool> connectionPool,
      Optional<OutlierDetection> outlierDetection, Optional<ClientTls> tls) {}

  /** Istio's ClientTLSSettings modes; ISTIO_MUTUAL is the mesh's own mutual TLS. */
  public enum TlsMode { DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL }

  /**
   * How a client speaks TLS to the destination: DISABLE, the mesh's ISTIO_MUTUAL, or TLS the client
   * originates itself (SIMPLE, MUTUAL) with the files named here, which are on the client's machine.
   *
   * @param subjectAltNames identities the server must present, in place of the service's own
   * @param sni the server name to send, when set
   * @param origination the files and checks of SIMPLE and MUTUAL
   */
  public record ClientTls(TlsMode mode, List<String> subjectAltNames, Optional<String> sni, Origination origination) {
    public ClientTls {
      subjectAltNames = List.copyOf(subjectAltNames);
    }

    public ClientTls(TlsMode mode, List<String> subjectAltNames, Optional<String> sni) {
      this(mode, subjectAltNames, sni, Origination.NONE);
    }

    /** Whether the client originates TLS with its own files: SIMPLE or MUTUAL. */
    public boolean originates() {
      return mode == TlsMode.SIMPLE || mode == TlsMode.MUTUAL;
    }
  }

  /**
   * Istio's file fields of ClientTLSSettings, as paths on the client's machine.
   *
   * @param caCertificates CA certificates to verify the server with; absent: the client's default trust store
   * @param clientCertificate the certificate chain presented under MUTUAL
   * @param privateKey its key, under MUTUAL
   * @param caCrl certificates the server may not present
   * @param verify false for {@code insecureSkipVerify: true}
   */
  public record Origination(Optional<String> caCertificates, Optional<String> clientCertificate,
      Optional<String> privateKey, Optional<String> caCrl, boolean verify) {
    public static final Origination NONE = new Origination(Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), true);
  }

  public enum Simple { UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST }

  public record LoadBalancer(Optional<Simple> simple, Optional<ConsistentHash> consistentHash,
      Optional<LocalityLbSetting> localityLbSetting) {}

  /**
   * Istio's LocalityLoadBalancerSetting: which localities a client prefers and how it fails over.
   * At most one of {@code distribute} and {@code failover} is set (the parser refuses both).
   *
   * @param enabled empty when not written: locality load balancing is on, as the mesh default is
   * @param distribute per client locality ({@code from}, which may end in {@code *}), the share of
   *     traffic for each destination locality
   * @param failover the region to fail over to, per client region
   * @param failoverPriority the labels that order endpoints into priorities, in place of locality
   */
  public record LocalityLbSetting(Optional<Boolean> enabled, List<Distribute> distribute, List<Failover> failover,
      List<String> failoverPriority) {
    public LocalityLbSetting {
      distribute = List.copyOf(distribute);
      failover = List.copyOf(failover);
      failoverPriority = List.copyOf(failoverPriority);
    }

    /** Whether this setting turns locality load balancing off, for every client. */
    public boolean disabled() {
      return enabled.isPresent() && !enabled.get();
    }
  }

  /** Traffic from {@code from} goes to each locality pattern of {@code to} by its percent (they add up to 100). */
  public record Distribute(String from, Map<String, Integer> to) {
    public Distribute {
      to = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(to));
    }
  }

  /** Clients in region {@code from} fail over to region {@code to} before any other region. */
  public record Failover(String from, String to) {}

  /** What the ring hash keys on. */
  public enum HashOn { HEADER, COOKIE, SOURCE_IP, QUERY_PARAMETER }

  public record ConsistentHash(HashOn on, String name, Optional<Duration> cookieTtl, long minimumRingSize) {}

  public record ConnectionPool(
      Optional<Integer> maxConnections,
      Optional<Duration> connectTimeout,
      Optional<Integer> http1MaxPendingRequests,
      Optional<Integer> http2MaxRequests,
      Optional<Integer> maxRequestsPerConnection,
      Optional<Integer> maxRetries,
      Optional<Duration> idleTimeout) {}

  /** Istio's retry budget: retries in flight may be {@code percent} of requests in flight, and at least {@code minRetryConcurrency}. */
  public record RetryBudget(Optional<Double> percent, Optional<Integer> minRetryConcurrency) {}

  public record OutlierDetection(
      Optional<Integer> consecutive5xxErrors,
      Optional<Integer> consecutiveGatewayErrors,
      Optional<Duration> interval,
      Optional<Duration> baseEjectionTime,
      Optional<Integer> maxEjectionPercent,
      Optional<Integer> minHealthPercent) {}
}
