package dev.inmesh.internal.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.inmesh.Locality;
import dev.inmesh.internal.balancing.BalancerConfig;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import dev.inmesh.internal.resilience.RetryBudgetConfig;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Turns CDS clusters and EDS assignments into data-plane config; refuses what it cannot honour. */
final class ClusterParser {
  private static final String RAW_BUFFER = "envoy.transport_sockets.raw_buffer";
  /** An idle timeout of zero: connections are never closed for being idle. */
  private static final Duration FOREVER = Duration.ofDays(365_000);
  private ClusterParser() {}

  static ClusterConfig parse(Cluster cluster) throws XdsParseException {
    String resource = "Cluster " + cluster.getName();
    if (cluster.getClusterDiscoveryTypeCase() != Cluster.ClusterDiscoveryTypeCase.TYPE
        || cluster.getType() != Cluster.DiscoveryType.EDS) {
      String type = cluster.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.TYPE
          ? cluster.getType().name() : "cluster_type " + cluster.getClusterType().getName();
      throw new XdsParseException(resource, "type", type + " is not supported by in-process clients; only EDS clusters are");
    }
    if (!cluster.getEdsClusterConfig().getEdsConfig().hasAds() && !cluster.getEdsClusterConfig().getEdsConfig().hasSelf()) {
      throw new XdsParseException(resource, "eds_cluster_config.eds_config", "endpoints must come over ADS");
    }
    String serviceName = cluster.getEdsClusterConfig().getServiceName().isEmpty()
        ? cluster.getName() : cluster.getEdsClusterConfig().getServiceName();
    BalancerConfig balancer = switch (cluster.getLbPolicy()) {
      case ROUND_ROBIN -> BalancerConfig.ROUND_ROBIN;
      case LEAST_REQUEST -> new BalancerConfig(BalancerConfig.Policy.LEAST_REQUEST, 1024,
          cluster.getLeastRequestLbConfig().hasChoiceCount() ? Math.max(2, cluster.getLeastRequestLbConfig().getChoiceCount().getValue()) : 2);
      case RANDOM -> new BalancerConfig(BalancerConfig.Policy.RANDOM, 1024, 2);
      case RING_HASH -> new BalancerConfig(BalancerConfig.Policy.RING_HASH,
          cluster.getRingHashLbConfig().hasMinimumRingSize()
              ? Math.max(1, Math.min(8_388_608, cluster.getRingHashLbConfig().getMinimumRingSize().getValue())) : 1024, 2);
      default -> throw new XdsParseException(resource, "lb_policy", cluster.getLbPolicy() + " is not supported "
          + "(supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH)");
    };
    ConnectionLimits limits = limits(resource, cluster);
    Optional<OutlierDetectionConfig> outliers = cluster.hasOutlierDetection()
        ? Optional.of(outliers(cluster.getOutlierDetection(), cluster))
        : Optional.empty();
    Duration connectTimeout = cluster.hasConnectTimeout() ? RouteParser.duration(cluster.getConnectTimeout()) : Duration.ofSeconds(5);
    Optional<UpstreamTls> tls = tls(resource, cluster);
    return new ClusterConfig(cluster.getName(), serviceName, balancer, limits, outliers, connectTimeout, tls,
        service(cluster));
  }

  /** Istio's cluster metadata: {@code istio.services[0]} {host, name, namespace}. */
  static final String ISTIO_METADATA = "istio";
  /** Inmesh's own cluster metadata: {@code inmesh.meshExternal} for a MESH_EXTERNAL ServiceEntry. */
  static final String INMESH_METADATA = "inmesh";
  static final String MESH_EXTERNAL = "meshExternal";

  /** The service a cluster's metadata names, if it names one (mesh-control always does; other servers may not). */
  private static Optional<dev.inmesh.internal.model.DestinationService> service(Cluster cluster) {
    var metadata = cluster.getMetadata().getFilterMetadataMap();
    com.google.protobuf.Struct istio = metadata.get(ISTIO_METADATA);
    if (istio == null || !istio.getFieldsMap().containsKey("services")) {
      return Optional.empty();
    }
    var services = istio.getFieldsMap().get("services").getListValue().getValuesList();
    if (services.isEmpty() || !services.get(0).hasStructValue()) {
      return Optional.empty();
    }
    var fields = services.get(0).getStructValue().getFieldsMap();
    String host = fields.containsKey("host") ? fields.get("host").getStringValue() : "";
    if (host.isEmpty()) {
      return Optional.empty();
    }
    String name = fields.containsKey("name") ? fields.get("name").getStringValue() : host;
    String namespace = fields.containsKey("namespace") ? fields.get("namespace").getStringValue() : "";
    com.google.protobuf.Struct inmesh = metadata.get(INMESH_METADATA);
    // without Inmesh's mark (a control plane other than mesh-control), only a Kubernetes service name is in the mesh
    boolean external = inmesh != null && inmesh.getFieldsMap().containsKey(MESH_EXTERNAL)
        ? inmesh.getFieldsMap().get(MESH_EXTERNAL).getBoolValue()
        : !host.endsWith(".svc.cluster.local");
    return Optional.of(new dev.inmesh.internal.model.DestinationService(host, name.isEmpty() ? host : name, namespace, external));
  }

  /** The endpoint metadata key of Istio's transport socket matches, and the mark of a mesh mTLS endpoint. */
  public static final String TRANSPORT_SOCKET_MATCH = "envoy.transport_socket_match";
  static final String TLS_MODE = "tlsMode";
  static final String TLS_MODE_ISTIO = "istio";

  /**
   * The cluster's transport: plaintext, or mesh mTLS with the SPIFFE IDs the server may have. Also
   * Istio's per-endpoint shape: {@code transport_socket_matches} where the match {@code tlsMode:
   * istio} takes TLS and the others plaintext, so that endpoints without mTLS do not downgrade the
   * rest.
   */
  private static Optional<UpstreamTls> tls(String resource, Cluster cluster) throws XdsParseException {
    if (cluster.getTransportSocketMatchesCount() > 0) {
      if (cluster.hasTransportSocket() && !cluster.getTransportSocket().getName().equals(RAW_BUFFER)) {
        throw new XdsParseException(resource, "transport_socket", "with transport_socket_matches, endpoints that match"
            + " none go in plaintext; got " + cluster.getTransportSocket().getName());
      }
      Optional<UpstreamTls> marked = Optional.empty();
      for (int i = 0; i < cluster.getTransportSocketMatchesCount(); i++) {
        var match = cluster.getTransportSocketMatches(i);
        String field = "transport_socket_matches[" + i + "]";
        var criteria = match.getMatch().getFieldsMap();
        boolean istio = criteria.size() == 1 && criteria.containsKey(TLS_MODE)
            && TLS_MODE_ISTIO.equals(criteria.get(TLS_MODE).getStringValue());
        boolean tls = match.hasTransportSocket() && !match.getTransportSocket().getName().equals(RAW_BUFFER);
        if (istio && tls && marked.isEmpty()) {
          UpstreamTls parsed = upstream(resource, field + ".transport_socket", match.getTransportSocket());
          marked = Optional.of(new UpstreamTls(parsed.identities(), parsed.sni(), UpstreamTls.Scope.MARKED_ENDPOINTS));
        } else if (tls) {
          throw new XdsParseException(resource, field, "in-process clients take mesh mTLS for the match {"
              + TLS_MODE + ": " + TLS_MODE_ISTIO + "} only, and plaintext for the others; got match "
              + criteria.keySet() + " with " + match.getTransportSocket().getName());
        }
      }
      return marked;
    }
    if (!cluster.hasTransportSocket() || cluster.getTransportSocket().getName().equals(RAW_BUFFER)) {
      return Optional.empty();
    }
    UpstreamTlsContext context = context(resource, "transport_socket", cluster.getTransportSocket());
    if (OriginationParser.originates(context)) {
      return Optional.of(OriginationParser.parse(resource, "transport_socket.typed_config", context, cluster));
    }
    return Optional.of(upstream(resource, "transport_socket", cluster.getTransportSocket()));
  }

  private static UpstreamTlsContext context(String resource, String field,
      io.envoyproxy.envoy.config.core.v3.TransportSocket socket) throws XdsParseException {
    if (!socket.getName().equals(InboundListenerParser.TLS_SOCKET)) {
      throw new XdsParseException(resource, field + ".name", "only " + InboundListenerParser.TLS_SOCKET + " and "
          + RAW_BUFFER + " are supported, got " + socket.getName());
    }
    try {
      return TypedConfigs.unpack(socket.getTypedConfig(), TypedConfigs.UPSTREAM_TLS_CONTEXT, UpstreamTlsContext.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_config", "not an UpstreamTlsContext: " + e.getMessage());
    }
  }

  private static UpstreamTls upstream(String resource, String field,
      io.envoyproxy.envoy.config.core.v3.TransportSocket socket) throws XdsParseException {
    if (!socket.getName().equals(InboundListenerParser.TLS_SOCKET)) {
      throw new XdsParseException(resource, field + ".name", "only " + InboundListenerParser.TLS_SOCKET + " and "
          + RAW_BUFFER + " are supported, got " + socket.getName());
    }
    UpstreamTlsContext context;
    try {
      context = TypedConfigs.unpack(socket.getTypedConfig(), TypedConfigs.UPSTREAM_TLS_CONTEXT, UpstreamTlsContext.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_config", "not an UpstreamTlsContext: " + e.getMessage());
    }
    CommonTlsContext common = context.getCommonTlsContext();
    String validationField = field + ".typed_config.common_tls_context.";
    CertificateValidationContext validation;
    if (common.hasCombinedValidationContext()) {
      validation = common.getCombinedValidationContext().getDefaultValidationContext();
      validationField += "combined_validation_context.default_validation_context";
    } else {
      validation = common.getValidationContext();
      validationField += "validation_context";
    }
    Set<String> identities = new LinkedHashSet<>();
    for (int i = 0; i < validation.getMatchSubjectAltNamesCount(); i++) {
      StringMatcher matcher = validation.getMatchSubjectAltNames(i);
      if (matcher.getMatchPatternCase() != StringMatcher.MatchPatternCase.EXACT || matcher.getIgnoreCase()) {
        throw new XdsParseException(resource, validationField + ".match_subject_alt_names[" + i + "]",
            "only exact, case-sensitive SPIFFE IDs are supported");
      }
      identities.add(matcher.getExact());
    }
    if (identities.isEmpty()) {
      throw new XdsParseException(resource, validationField + ".match_subject_alt_names",
          "mesh mTLS needs the SPIFFE IDs the server may present; without them any mesh workload would pass");
    }
    return new UpstreamTls(identities, context.getSni());
  }

  /**
   * The DEFAULT priority's thresholds and retry budget, and the connection settings of the
   * cluster's {@code HttpProtocolOptions} (Istio's shape) or of its deprecated
   * {@code max_requests_per_connection}.
   */
  private static ConnectionLimits limits(String resource, Cluster cluster) throws XdsParseException {
    ConnectionLimits limits = ConnectionLimits.defaults();
    Optional<RetryBudgetConfig> budget = Optional.empty();
    for (CircuitBreakers.Thresholds thresholds : cluster.getCircuitBreakers().getThresholdsList()) {
      if (thresholds.getPriority() == RoutingPriority.DEFAULT) {
        limits = new ConnectionLimits(
            thresholds.hasMaxConnections() ? clamp(thresholds.getMaxConnections().getValue()) : limits.maxConnections(),
            thresholds.hasMaxPendingRequests() ? clamp(thresholds.getMaxPendingRequests().getValue()) : limits.maxPendingRequests(),
            thresholds.hasMaxRequests() ? clamp(thresholds.getMaxRequests().getValue()) : limits.maxRequests(),
            thresholds.hasMaxRetries() ? clamp(thresholds.getMaxRetries().getValue()) : limits.maxRetries());
        if (thresholds.hasRetryBudget()) {
          var retryBudget = thresholds.getRetryBudget();
          RetryBudgetConfig defaults = RetryBudgetConfig.defaults();
          double percent = retryBudget.hasBudgetPercent() ? retryBudget.getBudgetPercent().getValue() : defaults.budgetPercent();
          if (!(percent >= 0 && percent <= 100)) {
            throw new XdsParseException(resource, "circuit_breakers.thresholds.retry_budget.budget_percent",
                "must be between 0 and 100, got " + percent);
          }
          budget = Optional.of(new RetryBudgetConfig(percent, retryBudget.hasMinRetryConcurrency()
              ? clamp(retryBudget.getMinRetryConcurrency().getValue()) : defaults.minRetryConcurrency()));
        }
        break;
      }
    }
    int perConnection = cluster.hasMaxRequestsPerConnection() ? clamp(cluster.getMaxRequestsPerConnection().getValue()) : 0;
    Optional<Duration> idleTimeout = Optional.empty();
    Any options = cluster.getTypedExtensionProtocolOptionsMap().get(TypedConfigs.HTTP_PROTOCOL_OPTIONS);
    if (options != null) {
      String field = "typed_extension_protocol_options[" + TypedConfigs.HTTP_PROTOCOL_OPTIONS + "]";
      HttpProtocolOptions http;
      try {
        http = TypedConfigs.unpack(options, TypedConfigs.HTTP_PROTOCOL_OPTIONS, HttpProtocolOptions.parser());
      } catch (InvalidProtocolBufferException e) {
        throw new XdsParseException(resource, field, "not an HttpProtocolOptions: " + e.getMessage());
      }
      var common = http.getCommonHttpProtocolOptions();
      if (common.hasMaxRequestsPerConnection()) {
        perConnection = clamp(common.getMaxRequestsPerConnection().getValue());
      }
      if (common.hasIdleTimeout()) {
        Duration idle = RouteParser.duration(common.getIdleTimeout());
        // Envoy: zero turns the idle timeout off
        idleTimeout = idle.isZero() || idle.isNegative() ? Optional.of(FOREVER) : Optional.of(idle);
      }
    }
    return new ConnectionLimits(limits.maxConnections(), limits.maxPendingRequests(), limits.maxRequests(),
        limits.maxRetries(), budget, perConnection, idleTimeout);
  }

  /** uint32 values past {@link Integer#MAX_VALUE} (Istio's "unlimited", 2^32-1) as that. */
  private static int clamp(int uint32) {
    return uint32 < 0 ? Integer.MAX_VALUE : uint32;
  }

  private static OutlierDetectionConfig outliers(OutlierDetection od, Cluster cluster) {
    OutlierDetectionConfig defaults = OutlierDetectionConfig.defaults();
    // Envoy enforces consecutive 5xx by default (100%) and consecutive gateway errors only when asked
    boolean enforce5xx = !od.hasEnforcingConsecutive5Xx() || od.getEnforcingConsecutive5Xx().getValue() > 0;
    boolean enforceGateway = od.hasEnforcingConsecutiveGatewayFailure() && od.getEnforcingConsecutiveGatewayFailure().getValue() > 0;
    int consecutive5xx = enforce5xx ? (od.hasConsecutive5Xx() ? od.getConsecutive5Xx().getValue() : 5) : 0;
    int consecutiveGateway = enforceGateway ? (od.hasConsecutiveGatewayFailure() ? od.getConsecutiveGatewayFailure().getValue() : 5) : 0;
    int minHealth = cluster.getCommonLbConfig().hasHealthyPanicThreshold()
        ? (int) cluster.getCommonLbConfig().getHealthyPanicThreshold().getValue() : defaults.minHealthPercent();
    return new OutlierDetectionConfig(consecutive5xx, consecutiveGateway,
        od.hasInterval() ? positive(RouteParser.duration(od.getInterval()), defaults.interval()) : defaults.interval(),
        od.hasBaseEjectionTime() ? positive(RouteParser.duration(od.getBaseEjectionTime()), defaults.baseEjectionTime()) : defaults.baseEjectionTime(),
        od.hasMaxEjectionPercent() ? Math.min(100, od.getMaxEjectionPercent().getValue()) : defaults.maxEjectionPercent(),
        Math.max(0, Math.min(100, minHealth)));
  }

  private static Duration positive(Duration value, Duration fallback) {
    return value.isZero() || value.isNegative() ? fallback : value;
  }

  static List<Endpoint> endpoints(ClusterLoadAssignment assignment) throws XdsParseException {
    String resource = "ClusterLoadAssignment " + assignment.getClusterName();
    List<Endpoint> endpoints = new ArrayList<>();
    for (int l = 0; l < assignment.getEndpointsCount(); l++) {
      LocalityLbEndpoints group = assignment.getEndpoints(l);
      var loc = group.getLocality();
      Locality locality = new Locality(loc.getRegion(), loc.getZone(), loc.getSubZone());
      int localityWeight = group.hasLoadBalancingWeight() ? group.getLoadBalancingWeight().getValue() : 0;
      if (localityWeight == 0 && group.hasLoadBalancingWeight()) {
        // as grpc-java does: a locality weighing 0 gets no traffic
        continue;
      }
      for (int e = 0; e < group.getLbEndpointsCount(); e++) {
        LbEndpoint lbEndpoint = group.getLbEndpoints(e);
        String field = "endpoints[" + l + "].lb_endpoints[" + e + "]";
        if (lbEndpoint.getHealthStatus() == HealthStatus.UNHEALTHY || lbEndpoint.getHealthStatus() == HealthStatus.DRAINING) {
          continue;
        }
        if (!lbEndpoint.getEndpoint().getAddress().hasSocketAddress()) {
          throw new XdsParseException(resource, field + ".endpoint.address", "only socket addresses are supported");
        }
        var socket = lbEndpoint.getEndpoint().getAddress().getSocketAddress();
        if (socket.getPortValue() < 1 || socket.getPortValue() > 65535) {
          throw new XdsParseException(resource, field + ".endpoint.address.socket_address.port_value",
              "must be between 1 and 65535, got " + socket.getPortValue());
        }
        int weight = lbEndpoint.hasLoadBalancingWeight() ? Math.max(1, lbEndpoint.getLoadBalancingWeight().getValue()) : 1;
        var mark = lbEndpoint.getMetadata().getFilterMetadataMap().get(TRANSPORT_SOCKET_MATCH);
        boolean meshTls = mark != null && mark.getFieldsMap().containsKey(TLS_MODE)
            && TLS_MODE_ISTIO.equals(mark.getFieldsMap().get(TLS_MODE).getStringValue());
        endpoints.add(new Endpoint(socket.getAddress(), socket.getPortValue(), locality, weight, meshTls,
            group.getPriority(), localityWeight));
      }
    }
    return endpoints;
  }
}
