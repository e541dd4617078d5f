package dev.inmesh.control.translate;

import static dev.inmesh.control.translate.XdsTranslator.u32;

import com.google.protobuf.util.Durations;
import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.networking.DestinationRule;
import dev.inmesh.control.config.networking.DestinationRule.ConnectionPool;
import dev.inmesh.control.config.networking.DestinationRule.OutlierDetection;
import dev.inmesh.control.config.networking.DestinationRule.Simple;
import dev.inmesh.control.config.networking.DestinationRule.TrafficPolicy;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.type.v3.Percent;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Builds EDS clusters and their endpoints from services and DestinationRules. */
final class ClusterBuilder {
  private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** Istio's "no limit" for a circuit breaker threshold it is not told: 2^32-1. */
  private static final long UNLIMITED = 0xFFFF_FFFFL;
  private static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  /** The service account in the SAN of a cluster whose service has no instance: no SPIFFE ID holds it. */
  static final String NO_INSTANCE = "<no-instance>";

  private final XdsTranslator.Policies policies;
  private final XdsTranslator.Warnings warnings;
  private final ClientProfile profile;
  private final String trustDomain;
  private final PeerAuthentications peerAuthentications;
  private final Map<String, Cluster> clusters = new LinkedHashMap<>();
  private final Map<String, ClusterLoadAssignment> endpoints = new LinkedHashMap<>();

  ClusterBuilder(XdsTranslator.Policies policies, XdsTranslator.Warnings warnings, ClientProfile profile,
      String trustDomain, PeerAuthentications peerAuthentications) {
    this.policies = policies;
    this.warnings = warnings;
    this.profile = profile;
    this.trustDomain = trustDomain;
    this.peerAuthentications = peerAuthentications;
  }

  List<Cluster> clusters() {
    return List.copyOf(clusters.values());
  }

  List<ClusterLoadAssignment> endpoints() {
    return List.copyOf(endpoints.values());
  }

  /** The whole-service cluster of one port, and one per subset that the DestinationRule defines. */
  void addService(MeshService service, int port) {
    add(service, port, "", Map.of());
    Optional<ConfigResource> rule = policies.ruleFor(service.hostname());
    if (rule.isEmpty()) {
      return;
    }
    // A subset that selects nothing yet is normal while workloads start; meshctl analyze reports it.
    for (DestinationRule.Subset subset : rule.get().spec(DestinationRule.class).subsets()) {
      add(service, port, subset.name(), subset.labels());
    }
  }

  private void add(MeshService service, int port, String subset, Map<String, String> labels) {
    String name = ClusterNames.outbound(port, subset, service.hostname());
    if (service.passthrough()) {
      // resolution NONE, as Istio translates it: the proxy forwards to the address the caller
      // dialled. Proxyless clients cannot and would NACK it, so the apply is refused (Preflight).
      clusters.put(name, Cluster.newBuilder()
          .setName(name)
          .setType(Cluster.DiscoveryType.ORIGINAL_DST)
          .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
          .setConnectTimeout(Durations.fromNanos(DEFAULT_CONNECT_TIMEOUT.toNanos()))
          .build());
      return;
    }
    TrafficPolicy policy = policies.policy(service.hostname(), port, subset);
    Cluster.Builder cluster = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder()
            .setEdsConfig(XdsTranslator.ADS)
            .setServiceName(name))
        .setConnectTimeout(Durations.fromNanos(policy.connectionPool().flatMap(ConnectionPool::connectTimeout)
            .orElse(DEFAULT_CONNECT_TIMEOUT).toNanos()));
    applyLoadBalancer(cluster, policy, service);
    applyConnectionPool(cluster, policy);
    policy.outlierDetection().ifPresent(outlier -> applyOutlierDetection(cluster, outlier, service));
    applyLocalityWeighting(cluster, policy);
    boolean unoriginated = originationUnsupported(policy);
    originationOptions(policy).ifPresent(cluster::setUpstreamHttpProtocolOptions);
    (unoriginated ? Optional.<io.envoyproxy.envoy.config.core.v3.TransportSocket>empty()
        : transportSocket(service, port, subset, labels, policy)).ifPresent(tls -> {
      if (perEndpointTls(service, port, labels, policy)) {
        cluster.addAllTransportSocketMatches(TransportSockets.perEndpoint(tls));
      } else {
        cluster.setTransportSocket(tls);
      }
    });
    if (profile.proxylessGrpc()) {
      // proxyless gRPC reports its load over LRS to mesh-control (Inmesh clients always do)
      cluster.setLrsServer(io.envoyproxy.envoy.config.core.v3.ConfigSource.newBuilder()
          .setSelf(io.envoyproxy.envoy.config.core.v3.SelfConfigSource.getDefaultInstance()));
    }
    cluster.setMetadata(serviceMetadata(service));
    clusters.put(name, cluster.build());
    // a client that cannot originate the TLS asked for gets no endpoint rather than a plaintext one
    endpoints.put(name, unoriginated ? ClusterLoadAssignment.newBuilder().setClusterName(name).build()
        : loadAssignment(name, service, port, labels, policy));
  }

  /**
   * Istio's cluster metadata, {@code istio.services: [{host, name, namespace}]}, which clients'
   * metrics report as the destination service, and {@code inmesh.meshExternal}, true for a
   * MESH_EXTERNAL ServiceEntry; it is always there, so that a client can tell mesh-control's "inside
   * the mesh" from a control plane that says nothing.
   */
  private static io.envoyproxy.envoy.config.core.v3.Metadata serviceMetadata(MeshService service) {
    com.google.protobuf.Struct entry = com.google.protobuf.Struct.newBuilder()
        .putFields("host", com.google.protobuf.Value.newBuilder().setStringValue(service.hostname()).build())
        .putFields("name", com.google.protobuf.Value.newBuilder().setStringValue(service.serviceName()).build())
        .putFields("namespace", com.google.protobuf.Value.newBuilder().setStringValue(service.namespace()).build())
        .build();
    com.google.protobuf.Value services = com.google.protobuf.Value.newBuilder().setListValue(com.google.protobuf.ListValue
        .newBuilder().addValues(com.google.protobuf.Value.newBuilder().setStructValue(entry))).build();
    io.envoyproxy.envoy.config.core.v3.Metadata.Builder metadata = io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder()
        .putFilterMetadata("istio", com.google.protobuf.Struct.newBuilder().putFields("services", services).build());
    metadata.putFilterMetadata("inmesh", com.google.protobuf.Struct.newBuilder()
        .putFields("meshExternal", com.google.protobuf.Value.newBuilder().setBoolValue(service.meshExternal()).build()).build());
    return metadata.build();
  }

  /**
   * TLS the client originates to the destination (DestinationRule SIMPLE or MUTUAL), with the files
   * on the client's machine. Proxyless gRPC clients never get it: grpc-java takes certificates
   * from its bootstrap's provider instances only (gRFC A29) and NACKs files ({@link #originationUnsupported}).
   */
  private static Optional<io.envoyproxy.envoy.config.core.v3.TransportSocket> originationSocket(DestinationRule.ClientTls tls) {
    return Optional.of(TransportSockets.origination(tls));
  }

  /** Istio's auto SNI and auto SAN validation around an originated TLS, for Inmesh clients. */
  private Optional<io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions> originationOptions(TrafficPolicy policy) {
    return policy.tls().filter(DestinationRule.ClientTls::originates).filter(tls -> !profile.proxylessGrpc())
        .map(TransportSockets::originationOptions);
  }

  /** Whether this client must originate TLS and cannot: proxyless gRPC (DestinationRuleParser warns at apply). */
  private boolean originationUnsupported(TrafficPolicy policy) {
    return profile.proxylessGrpc() && policy.tls().filter(DestinationRule.ClientTls::originates).isPresent();
  }

  /**
   * Mutual TLS to this cluster, Istio's way. A DestinationRule's {@code tls.mode} decides when it
   * is ISTIO_MUTUAL or DISABLE; otherwise auto-mTLS: a client with mesh certificates speaks mTLS
   * when every endpoint says it can ({@code security.istio.io/tlsMode: istio}) and its port is not
   * DISABLE. Unlike Envoy, in-process clients take one transport per cluster, so a cluster that
   * mixes mTLS and plaintext endpoints stays plaintext, and a warning names it.
   */
  private Optional<io.envoyproxy.envoy.config.core.v3.TransportSocket> transportSocket(MeshService service, int port,
      String subset, Map<String, String> labels, TrafficPolicy policy) {
    List<MeshService.Instance> members = service.instances().stream()
        .filter(i -> i.servicePort() == port && ServiceIndex.matches(labels, i.labels()))
        .toList();
    Optional<DestinationRule.ClientTls> tls = policy.tls();
    DestinationRule.TlsMode mode = tls.map(DestinationRule.ClientTls::mode).orElse(null);
    if (mode == DestinationRule.TlsMode.DISABLE) {
      return Optional.empty();
    }
    if (tls.isPresent() && tls.get().originates()) {
      return originationSocket(tls.get());
    }
    if (mode != DestinationRule.TlsMode.ISTIO_MUTUAL) {
      // Istio never applies auto-mTLS to a MESH_EXTERNAL ServiceEntry
      if (!profile.meshCertificates() || members.isEmpty() || service.meshExternal()) {
        return Optional.empty();
      }
      boolean grpc = service.port(port).map(p -> p.protocol().equalsIgnoreCase("GRPC")).orElse(false);
      long capable = members.stream()
          .filter(i -> i.meshTls() && acceptsMtls(peerAuthentications.mode(i.namespace(), i.labels(), i.port()), grpc))
          .count();
      if (capable < members.size()) {
        if (capable == 0) {
          return Optional.empty();
        }
        if (profile.proxylessGrpc()) {
          // grpc-java NACKs transport_socket_matches: rather than call every endpoint in plaintext,
          // its clients get mTLS and only the endpoints that speak it (loadAssignment leaves the rest out)
          policies.ruleFor(service.hostname()).ifPresent(rule -> warnings.add(rule, "trafficPolicy.tls",
              "some endpoints of " + service.hostname() + ":" + port + " speak mesh mTLS and some do not;"
                  + " proxyless gRPC clients take one transport per cluster, so they get mTLS and only the endpoints"
                  + " that speak it"));
        }
        // mTLS to the endpoints that speak it: Inmesh clients call the rest in plaintext (Istio's transport socket match)
      }
    }
    java.util.Set<String> identities = tls.isPresent() && !tls.get().subjectAltNames().isEmpty()
        ? new java.util.TreeSet<>(tls.get().subjectAltNames())
        : service.identities(trustDomain);
    if (identities.isEmpty()) {
      // nothing serves the service, so the cluster has no endpoint: an identity no SPIFFE ID can
      // be ('<' is not allowed in one) makes an endpoint that comes before its identities fail the
      // handshake, rather than take any mesh workload or plaintext
      identities = java.util.Set.of(unknownIdentity(service));
    }
    // Istio's auto-mTLS SNI (outbound_.9080_._.reviews…) is no LDH host name, and JSSE servers
    // refuse a handshake that carries one; only a DestinationRule's own sni is sent
    String sni = tls.flatMap(DestinationRule.ClientTls::sni).orElse("");
    return Optional.of(TransportSockets.upstream(identities, sni));
  }

  /** The SAN a cluster asks for while no instance of its service tells whose identity to expect. */
  private String unknownIdentity(MeshService service) {
    return "spiffe://" + trustDomain + "/ns/" + service.namespace() + "/sa/" + NO_INSTANCE;
  }

  /** Whether an endpoint speaks mesh mTLS: it says so ({@code tlsMode: istio}) and its port's policy takes it. */
  private boolean meshTlsEndpoint(MeshService.Instance instance, boolean grpc) {
    return instance.meshTls() && acceptsMtls(peerAuthentications.mode(instance.namespace(), instance.labels(), instance.port()), grpc);
  }

  /** Whether the cluster's mTLS goes to some of its endpoints only: Inmesh clients on a {@link #mixedMeshTls} cluster. */
  private boolean perEndpointTls(MeshService service, int port, Map<String, String> labels, TrafficPolicy policy) {
    return !profile.proxylessGrpc() && mixedMeshTls(service, port, labels, policy);
  }

  /**
   * Whether auto-mTLS (no DestinationRule mode) meets a cluster where some endpoints speak mesh
   * mTLS and some do not, for a client with certificates.
   */
  private boolean mixedMeshTls(MeshService service, int port, Map<String, String> labels, TrafficPolicy policy) {
    if (!profile.meshCertificates() || policy.tls().map(DestinationRule.ClientTls::mode).isPresent()
        || service.meshExternal()) {
      return false;
    }
    boolean grpc = service.port(port).map(p -> p.protocol().equalsIgnoreCase("GRPC")).orElse(false);
    List<MeshService.Instance> members = service.instances().stream()
        .filter(i -> i.servicePort() == port && ServiceIndex.matches(labels, i.labels()))
        .toList();
    long capable = members.stream().filter(i -> meshTlsEndpoint(i, grpc)).count();
    return capable > 0 && capable < members.size();
  }

  /**
   * Whether an endpoint port takes mTLS: not under DISABLE, and for gRPC servers not under
   * PERMISSIVE either, which reaches them as plaintext only (see InboundListeners).
   */
  private static boolean acceptsMtls(dev.inmesh.control.config.security.PeerAuthentication.Mode mode, boolean grpc) {
    return switch (mode) {
      case DISABLE -> false;
      case PERMISSIVE -> !grpc;
      default -> true;
    };
  }

  private void applyLoadBalancer(Cluster.Builder cluster, TrafficPolicy policy, MeshService service) {
    Optional<DestinationRule.LoadBalancer> lb = policy.loadBalancer();
    if (lb.flatMap(DestinationRule.LoadBalancer::consistentHash).isPresent()) {
      long ringSize = lb.get().consistentHash().get().minimumRingSize();
      cluster.setLbPolicy(Cluster.LbPolicy.RING_HASH)
          .setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder()
              .setMinimumRingSize(com.google.protobuf.UInt64Value.of(Math.max(1, ringSize))));
      DestinationRule.HashOn on = lb.get().consistentHash().get().on();
      if (profile.proxylessGrpc() && on != DestinationRule.HashOn.HEADER) {
        // grpc-java hashes on headers (and its channel id) only: without a key each call lands anywhere on the ring
        String field = switch (on) {
          case COOKIE -> "httpCookie";
          case SOURCE_IP -> "useSourceIp";
          default -> "httpQueryParameterName";
        };
        policies.ruleFor(service.hostname()).ifPresent(rule -> warnings.add(rule,
            "trafficPolicy.loadBalancer.consistentHash." + field,
            "proxyless gRPC clients hash on headers only; their calls get no affinity from " + field));
      }
      return;
    }
    Simple simple = lb.flatMap(DestinationRule.LoadBalancer::simple).orElse(Simple.UNSPECIFIED);
    switch (simple) {
      case RANDOM -> {
        if (profile.proxylessGrpc()) {
          // grpc-java NACKs a RANDOM cluster; round robin spreads calls as evenly, without the draw
          cluster.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
          policies.ruleFor(service.hostname()).ifPresent(rule -> warnings.add(rule, "trafficPolicy.loadBalancer.simple",
              "proxyless gRPC clients have no RANDOM balancer; they balance round robin"));
        } else {
          cluster.setLbPolicy(Cluster.LbPolicy.RANDOM);
        }
      }
      case LEAST_CONN, LEAST_REQUEST -> cluster.setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST)
          .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setChoiceCount(u32(2)));
      default -> cluster.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
    }
  }

  /**
   * Istio's connection pool and retry budget: the circuit breakers start from Istio's unlimited
   * defaults (2^32-1) and take the rule's values; the idle timeout and the requests per connection
   * go in the cluster's HttpProtocolOptions, where Istio puts them.
   */
  private static void applyConnectionPool(Cluster.Builder cluster, TrafficPolicy policy) {
    // every cluster gets thresholds, unlimited where the rule sets none, as Istio sends them: Envoy's
    // defaults (1024 connections, 3 retries in flight) would refuse calls Istio lets through
    ConnectionPool pool = policy.connectionPool().orElse(new ConnectionPool(Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty()));
    // as in Istio, 0 is "not set"
    CircuitBreakers.Thresholds.Builder thresholds = CircuitBreakers.Thresholds.newBuilder()
        .setMaxConnections(u32(orUnlimited(pool.maxConnections())))
        .setMaxPendingRequests(u32(orUnlimited(pool.http1MaxPendingRequests())))
        .setMaxRequests(u32(orUnlimited(pool.http2MaxRequests())))
        .setMaxRetries(u32(orUnlimited(pool.maxRetries())));
    policy.retryBudget().ifPresent(budget -> {
      CircuitBreakers.Thresholds.RetryBudget.Builder retryBudget = CircuitBreakers.Thresholds.RetryBudget.newBuilder();
      budget.percent().ifPresent(p -> retryBudget.setBudgetPercent(Percent.newBuilder().setValue(p)));
      budget.minRetryConcurrency().ifPresent(m -> retryBudget.setMinRetryConcurrency(u32(m)));
      thresholds.setRetryBudget(retryBudget);
    });
    cluster.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(thresholds));
    if (pool.idleTimeout().isPresent() || pool.maxRequestsPerConnection().filter(max -> max > 0).isPresent()) {
      io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.Builder common =
          io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.newBuilder();
      pool.idleTimeout().ifPresent(idle -> common.setIdleTimeout(Durations.fromNanos(idle.toNanos())));
      pool.maxRequestsPerConnection().filter(max -> max > 0).ifPresent(max -> common.setMaxRequestsPerConnection(u32(max)));
      cluster.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, com.google.protobuf.Any.pack(
          io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
              .setCommonHttpProtocolOptions(common)
              .setUseDownstreamProtocolConfig(
                  io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.UseDownstreamHttpConfig.getDefaultInstance())
              .build()));
    }
  }

  private static long orUnlimited(Optional<Integer> threshold) {
    return threshold.filter(v -> v > 0).map(Integer::longValue).orElse(UNLIMITED);
  }

  private void applyOutlierDetection(Cluster.Builder cluster, OutlierDetection outlier, MeshService service) {
    io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.Builder od =
        io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.newBuilder()
            // as Istio does: consecutive errors only; Envoy's success-rate ejection stays off
            .setEnforcingSuccessRate(u32(0));
    outlier.consecutive5xxErrors().ifPresent(v -> od.setConsecutive5Xx(u32(v)).setEnforcingConsecutive5Xx(u32(v > 0 ? 100 : 0)));
    if (outlier.consecutive5xxErrors().isEmpty()) {
      od.setEnforcingConsecutive5Xx(u32(0));
    }
    outlier.consecutiveGatewayErrors().ifPresent(v -> od.setConsecutiveGatewayFailure(u32(v))
        .setEnforcingConsecutiveGatewayFailure(u32(v > 0 ? 100 : 0)));
    outlier.interval().ifPresent(v -> od.setInterval(Durations.fromNanos(v.toNanos())));
    outlier.baseEjectionTime().ifPresent(v -> od.setBaseEjectionTime(Durations.fromNanos(v.toNanos())));
    outlier.maxEjectionPercent().ifPresent(v -> od.setMaxEjectionPercent(u32(v)));
    // Istio's default minHealthPercent is 0 (panic mode off), where Envoy's would be 50
    cluster.setCommonLbConfig(Cluster.CommonLbConfig.newBuilder()
        .setHealthyPanicThreshold(Percent.newBuilder().setValue(outlier.minHealthPercent().orElse(0))));
    if (profile.proxylessGrpc() && outlier.minHealthPercent().orElse(0) > 0) {
      policies.ruleFor(service.hostname()).ifPresent(rule -> warnings.add(rule, "trafficPolicy.outlierDetection.minHealthPercent",
          "proxyless gRPC clients have no panic threshold; maxEjectionPercent bounds their ejections"));
    }
    if (profile.proxylessGrpc()) {
      // gRPC ejects by success rate or failure percentage only (gRFC A50): N consecutive errors
      // become "failed more than half of at least N calls in an interval"
      int volume = Math.max(1, outlier.consecutive5xxErrors().or(outlier::consecutiveGatewayErrors).orElse(5));
      od.setFailurePercentageThreshold(u32(50))
          .setEnforcingFailurePercentage(u32(100))
          .setFailurePercentageMinimumHosts(u32(1))
          .setFailurePercentageRequestVolume(u32(volume));
    }
    cluster.setOutlierDetection(od);
    policies.ruleFor(service.hostname()).ifPresent(rule -> warnings.add(rule, "trafficPolicy.outlierDetection",
        "proxyless gRPC clients eject by failure percentage only (gRFC A50): they get consecutive errors as"
            + " 'failed more than half of at least that many calls in an interval'"));
  }

  private ClusterLoadAssignment loadAssignment(String name, MeshService service, int port, Map<String, String> labels,
      TrafficPolicy policy) {
    boolean grpc = service.port(port).map(p -> p.protocol().equalsIgnoreCase("GRPC")).orElse(false);
    boolean onlyMeshTls = profile.proxylessGrpc() && mixedMeshTls(service, port, labels, policy);
    List<MeshService.Instance> members = service.instances().stream()
        .filter(instance -> instance.servicePort() == port && ServiceIndex.matches(labels, instance.labels())
            && (!onlyMeshTls || meshTlsEndpoint(instance, grpc)))
        .toList();
    ClusterLoadAssignment.Builder assignment = ClusterLoadAssignment.newBuilder().setClusterName(name);
    List<LocalityLoadBalancing.Group> groups = LocalityLoadBalancing.groups(profile.locality(), localityLbSetting(policy),
        policy.outlierDetection().isPresent(), members);
    if (profile.proxylessGrpc()) {
      List<LocalityLoadBalancing.Group> merged = LocalityLoadBalancing.onePriorityPerLocality(groups);
      if (merged.size() < groups.size()) {
        policies.ruleFor(service.hostname()).ifPresent(rule -> warnings.add(rule,
            "trafficPolicy.loadBalancer.localityLbSetting.failoverPriority",
            "failoverPriority puts endpoints of one locality of " + service.hostname() + ":" + port + " at different"
                + " priorities; proxyless gRPC clients take one priority per locality, so they get each locality at"
                + " the priority of its nearest endpoints"));
      }
      groups = merged;
    }
    for (LocalityLoadBalancing.Group group : groups) {
      Locality locality = group.locality();
      LocalityLbEndpoints.Builder endpoints = LocalityLbEndpoints.newBuilder()
          .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
              .setRegion(locality.region()).setZone(locality.zone()).setSubZone(locality.subZone()))
          .setPriority(group.priority())
          // proxyless gRPC drops localities without a weight, so every locality carries one
          .setLoadBalancingWeight(u32(group.weight()));
      for (MeshService.Instance instance : group.instances()) {
        LbEndpoint.Builder endpoint = LbEndpoint.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder()
                    .setAddress(instance.address())
                    .setPortValue(instance.port()))))
            .setHealthStatus(HealthStatus.HEALTHY)
            .setLoadBalancingWeight(u32(instance.weight()));
        if (!service.meshExternal() && meshTlsEndpoint(instance, grpc)) {
          // Istio's mark of an endpoint that speaks mesh mTLS, for per-endpoint transport socket matches
          endpoint.setMetadata(io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder()
              .putFilterMetadata(TransportSockets.TRANSPORT_SOCKET_MATCH, TransportSockets.MESH_TLS_MARK));
        }
        endpoints.addLbEndpoints(endpoint);
      }
      assignment.addEndpoints(endpoints);
    }
    return assignment.build();
  }

  private static Optional<DestinationRule.LocalityLbSetting> localityLbSetting(TrafficPolicy policy) {
    return policy.loadBalancer().flatMap(DestinationRule.LoadBalancer::localityLbSetting);
  }

  /**
   * Envoy weighs localities only when the cluster says so; Istio says so where it applies
   * failover or distribute. Proxyless gRPC always weighs them and is not told.
   */
  private void applyLocalityWeighting(Cluster.Builder cluster, TrafficPolicy policy) {
    if (!profile.proxylessGrpc()
        && LocalityLoadBalancing.weighsLocalities(localityLbSetting(policy), policy.outlierDetection().isPresent())) {
      cluster.getCommonLbConfigBuilder().setLocalityWeightedLbConfig(
          Cluster.CommonLbConfig.LocalityWeightedLbConfig.getDefaultInstance());
    }
  }
}
