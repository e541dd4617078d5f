package dev.inmesh.http.server.internal;

import dev.inmesh.MeshConfig;
import dev.inmesh.http.server.PeerInfo;
import dev.inmesh.security.SpiffeId;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The inbound meters, under Istio's names and labels so that Istio's dashboards and alerts work:
 * Micrometer's Prometheus registry renders {@code istio.requests} as {@code istio_requests_total}
 * and the {@code istio.request.duration} summary in milliseconds as
 * {@code istio_request_duration_milliseconds_bucket/_sum/_count}, with Istio's default buckets. The
 * door's own counters are Inmesh's ({@code inmesh.inbound.connections}).
 *
 * <p>Labels are bounded: principals and namespaces are the mesh's identities, codes are HTTP codes.
 * Peer metadata exchange is not done, so {@code source_workload} and {@code source_canonical_service}
 * are {@code unknown}, as Istio reports them for a peer without it.
 */
public final class InboundMetrics {
  public static final String REQUESTS = "istio.requests";
  public static final String REQUEST_DURATION = "istio.request.duration";
  public static final String CONNECTIONS = "inmesh.inbound.connections";
  public static final String ACTIVE_CONNECTIONS = "inmesh.inbound.connections.active";
  static final String UNKNOWN = "unknown";
  /** Istio's default buckets for istio_request_duration_milliseconds. */
  private static final double[] ISTIO_DURATION_BUCKETS = {0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
      10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

  private final MeterRegistry registry;
  private final Tags destination;
  private final String destinationPrincipal;

  public InboundMetrics(MeterRegistry registry, MeshConfig config, Optional<SpiffeId> identity) {
    this.registry = registry;
    this.destination = destinationTags(config);
    this.destinationPrincipal = identity.map(Object::toString).orElse(UNKNOWN);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * One request answered on this workload.
   *
   * @param peer the connection's peer; empty when the request did not come through the door
   * @param responseFlags Envoy's response flags: {@code -} for none, {@code RBAC} when denied
   */
  public void request(Optional<PeerInfo> peer, int responseCode, String responseFlags, double millis) {
    boolean mtls = peer.map(PeerInfo::isMutualTls).orElse(false);
    Optional<SpiffeId> principal = peer.flatMap(PeerInfo::principal);
    Tags tags = destination.and(
        "reporter", "destination",
        "source_workload", UNKNOWN,
        "source_canonical_service", UNKNOWN,
        "source_workload_namespace", principal.map(SpiffeId::namespace).orElse(UNKNOWN),
        "source_principal", principal.map(Object::toString).orElse(UNKNOWN),
        "destination_principal", mtls ? destinationPrincipal : UNKNOWN,
        "request_protocol", "http",
        "response_code", Integer.toString(responseCode),
        "grpc_response_status", "",
        "response_flags", responseFlags,
        "connection_security_policy", peer.map(p -> p.security().istioName()).orElse(UNKNOWN));
    Counter.builder(REQUESTS)
        .description("Requests this workload answered (Istio standard metric)")
        .baseUnit("requests")
        .tags(tags)
        .register(registry)
        .increment();
    DistributionSummary.builder(REQUEST_DURATION)
        .description("Time from the request reaching the server to its handler returning (Istio standard metric)")
        .baseUnit("milliseconds")
        .serviceLevelObjectives(ISTIO_DURATION_BUCKETS)
        .tags(tags)
        .register(registry)
        .record(millis);
  }

  public void connectionAccepted(int port, PeerInfo.Security security) {
    connections(port, security.istioName(), "accepted");
  }

  public void connectionRefused(int port, RefusalReason reason) {
    connections(port, "refused", reason.tag());
  }

  /** A gauge of the door's live relays; removed with the door. */
  public Gauge activeConnections(int port, Supplier<Number> count) {
    return Gauge.builder(ACTIVE_CONNECTIONS, count)
        .description("Connections the door is relaying now")
        .baseUnit("connections")
        .tag("port", Integer.toString(port))
        .register(registry);
  }

  private void connections(int port, String policy, String reason) {
    Counter.builder(CONNECTIONS)
        .description("Connections the door on an inbound port accepted (mutual_tls, none) or refused, with the reason")
        .baseUnit("connections")
        .tags("port", Integer.toString(port), "security_policy", policy, "reason", reason)
        .register(registry)
        .increment();
  }

  private static Tags destinationTags(MeshConfig config) {
    String namespace = config.namespace();
    String workload = config.workload().map(w -> w.workloadName()).orElse(UNKNOWN);
    String service = config.service().orElse(UNKNOWN);
    Map<String, String> labels = config.labels();
    String app = labels.getOrDefault("app", UNKNOWN);
    String version = labels.getOrDefault("version", UNKNOWN);
    return Tags.of(
        "destination_workload", workload,
        "destination_workload_namespace", namespace,
        "destination_service", service.equals(UNKNOWN) ? UNKNOWN : service + "." + namespace + ".svc.cluster.local",
        "destination_service_name", service,
        "destination_service_namespace", namespace,
        "destination_app", app,
        "destination_version", version,
        "destination_canonical_service", labels.getOrDefault("service.istio.io/canonical-name",
            labels.getOrDefault("app", workload)),
        "destination_canonical_revision", labels.getOrDefault("service.istio.io/canonical-revision",
            labels.getOrDefault("version", "latest")));
  }
}
