package dev.inmesh.internal.telemetry;

import dev.inmesh.MeshConfig;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.model.DestinationService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Istio's standard request metrics, the same for every transport, so that Istio's dashboards and
 * alerts work: Micrometer's Prometheus registry renders {@code istio.requests} as
 * {@code istio_requests_total} and the {@code istio.request.duration} summary in milliseconds as
 * {@code istio_request_duration_milliseconds_bucket/_sum/_count}, with Istio's default buckets.
 * A server reports {@code reporter="destination"}, a client {@code reporter="source"}.
 *
 * <p>The other side's workload, app and version come from its {@link PeerMetadata} when its
 * certificate vouches for it (mutual TLS, and the certificate's namespace is the metadata's); from
 * a plaintext peer, from one of another namespace or from one that sent none they are
 * {@code unknown}, as Istio reports a peer it has not authenticated. Each reporter keeps at most
 * {@value #MAX_SERIES} label combinations: a request of a new one past that is not recorded, and
 * counted in {@value #REFUSED_SERIES}, so that no peer can grow the meters without end.
 */
public final class IstioMetrics {
  public static final String REQUESTS = "istio.requests";
  public static final String REQUEST_DURATION = "istio.request.duration";
  public static final String UNKNOWN = "unknown";
  /** Label combinations one reporter (a door, a client) keeps. */
  public static final int MAX_SERIES = 1000;
  public static final String REFUSED_SERIES = "inmesh.istio.series.refused";
  private static final Logger log = LoggerFactory.getLogger(IstioMetrics.class);
  /** Istio's default buckets for istio_request_duration_milliseconds. */
  private static final double[] ISTIO_DURATION_BUCKETS = {0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
      10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

  /**
   * How a request went: the protocol ({@code http}, {@code grpc}), codes, Envoy's response flags
   * ({@code -} for none), and the body sizes when the transport knows them (negative: unknown).
   */
  public record Outcome(String protocol, int responseCode, Optional<Integer> grpcStatus, String responseFlags, double millis,
      long requestBytes, long responseBytes) {
    public Outcome(String protocol, int responseCode, Optional<Integer> grpcStatus, String responseFlags, double millis) {
      this(protocol, responseCode, grpcStatus, responseFlags, millis, -1, -1);
    }
  }

  public static final String REQUEST_BYTES = "istio.request.bytes";
  public static final String RESPONSE_BYTES = "istio.response.bytes";
  /** Istio's default buckets for istio_request_bytes and istio_response_bytes. */
  private static final double[] ISTIO_SIZE_BUCKETS = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};

  /** Every label, on every meter: Prometheus wants one set of keys per metric name. */
  private static final java.util.List<String> LABELS = java.util.List.of("reporter",
      "source_workload", "source_workload_namespace", "source_app", "source_version", "source_canonical_service",
      "source_canonical_revision", "source_principal",
      "destination_workload", "destination_workload_namespace", "destination_app", "destination_version",
      "destination_canonical_service", "destination_canonical_revision", "destination_service",
      "destination_service_name", "destination_service_namespace", "destination_principal",
      "request_protocol", "response_code", "grpc_response_status", "response_flags", "connection_security_policy");

  private static final Map<String, Integer> INDEX = index();
  /** The service of a served request's key: always this workload's own. */
  private static final DestinationService SERVED = new DestinationService("", "", "", false);

  /**
   * What tells one series from another, as the caller hands it over: a request only builds this
   * small key and looks its meters up; the 23 label values are worked out once, at the first
   * request of a series.
   */
  private record Key(boolean served, DestinationService service, Optional<SpiffeId> peerId, Optional<Workload> peer,
      String securityPolicy, String protocol, int responseCode, Optional<Integer> grpcStatus, String responseFlags) {
    Key(boolean served, DestinationService service, Optional<SpiffeId> peerId, Optional<Workload> peer, String securityPolicy,
        Outcome outcome) {
      this(served, service, peerId, peer, securityPolicy, outcome.protocol(), outcome.responseCode(), outcome.grpcStatus(),
          outcome.responseFlags());
    }
  }

  /** What a workload's metadata puts in the labels of its side; its other labels tell no series apart. */
  private record Workload(String workload, String namespace, String app, String version, String canonicalService,
      String canonicalRevision) {
    static Workload of(PeerMetadata metadata) {
      return new Workload(metadata.workload(), metadata.namespace(), metadata.app(), metadata.version(),
          metadata.canonicalService(), metadata.canonicalRevision());
    }
  }

  /**
   * The meters of one series, registered once: a request only looks them up. The size summaries
   * are registered at their first recorded size, so a transport that never knows sizes shows none.
   */
  private record Meters(Tags tags, Counter requests, DistributionSummary duration,
      java.util.concurrent.atomic.AtomicReference<DistributionSummary> requestBytes,
      java.util.concurrent.atomic.AtomicReference<DistributionSummary> responseBytes) {}

  private final MeterRegistry registry;
  private final PeerMetadata self;
  private final Workload selfWorkload;
  private final String selfService;
  private final String selfPrincipal;
  private final Map<Key, Meters> meters = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile Counter refused;

  public IstioMetrics(MeterRegistry registry, MeshConfig self, Optional<SpiffeId> identity) {
    this.registry = registry;
    this.self = PeerMetadata.of(self);
    this.selfWorkload = Workload.of(this.self);
    this.selfService = self.service().orElse(UNKNOWN);
    this.selfPrincipal = identity.map(Object::toString).orElse(UNKNOWN);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * A request this workload answered.
   *
   * @param source the caller's SPIFFE ID, from its certificate; empty for plaintext
   * @param securityPolicy {@code mutual_tls}, {@code none}, or {@code unknown} when the transport is not known
   */
  public void served(Optional<SpiffeId> source, String securityPolicy, Outcome outcome) {
    served(source, securityPolicy, Optional.empty(), outcome);
  }

  /**
   * A request this workload answered, from a caller that sent its {@link PeerMetadata}: believed
   * when {@code source} vouches for it, else the caller's workload labels are {@code unknown}.
   */
  public void served(Optional<SpiffeId> source, String securityPolicy, Optional<PeerMetadata> caller, Outcome outcome) {
    Optional<Workload> vouched = vouched(caller, source);
    Key key = new Key(true, SERVED, source, vouched, securityPolicy, outcome);
    Meters series = meters.get(key);
    if (series == null) {
      series = newSeries(key, () -> servedLabels(source, securityPolicy, vouched, outcome));
    }
    record(series, outcome);
  }

  /** The peer's metadata when its certificate vouches for it ({@link PeerMetadata#vouchedForBy}). */
  private static Optional<Workload> vouched(Optional<PeerMetadata> claimed, Optional<SpiffeId> certificate) {
    if (claimed.isEmpty() || certificate.isEmpty() || !claimed.get().vouchedForBy(certificate.get())) {
      return Optional.empty();
    }
    return Optional.of(Workload.of(claimed.get()));
  }

  private String[] servedLabels(Optional<SpiffeId> source, String securityPolicy, Optional<Workload> caller, Outcome outcome) {
    String[] labels = labels();
    put(labels, "reporter", "destination");
    workload(labels, "destination", selfWorkload);
    String service = selfService;
    put(labels, "destination_service", service.equals(UNKNOWN) ? UNKNOWN : service + "." + self.namespace() + ".svc.cluster.local");
    put(labels, "destination_service_name", service);
    put(labels, "destination_service_namespace", self.namespace());
    put(labels, "destination_principal", securityPolicy.equals("mutual_tls") ? selfPrincipal : UNKNOWN);
    caller.ifPresent(peer -> workload(labels, "source", peer));
    source.ifPresent(id -> {
      put(labels, "source_workload_namespace", id.namespace());
      put(labels, "source_principal", id.toString());
    });
    put(labels, "connection_security_policy", securityPolicy);
    outcome(labels, outcome);
    return labels;
  }

  /**
   * A request this workload sent.
   *
   * @param destinationService the FQDN of the service called, e.g. {@code reviews.default.svc.cluster.local}
   * @param destination the server's SPIFFE ID when the call went over mTLS
   */
  public void sent(String destinationService, Optional<SpiffeId> destination, Outcome outcome) {
    sent(destinationService, destination, Optional.empty(), outcome);
  }

  /**
   * A request this workload sent, answered by a server that sent its {@link PeerMetadata}: believed
   * when {@code destination} vouches for it, else the server's workload labels are {@code unknown}.
   */
  public void sent(String destinationService, Optional<SpiffeId> destination, Optional<PeerMetadata> server, Outcome outcome) {
    String namespace = namespaceOf(destinationService);
    sent(new DestinationService(destinationService, destinationService.contains(".")
        ? destinationService.substring(0, destinationService.indexOf('.')) : destinationService,
        namespace, false), destination, server, outcome);
  }

  /**
   * A request this workload sent to {@code service}, as its cluster's metadata names it. A
   * MESH_EXTERNAL destination is reported as Istio reports a ServiceEntry outside the mesh: its
   * service labels from the entry, its workload labels {@code unknown}.
   */
  public void sent(DestinationService service, Optional<SpiffeId> destination, Optional<PeerMetadata> server,
      Outcome outcome) {
    Optional<Workload> vouched = service.meshExternal() ? Optional.empty() : vouched(server, destination);
    Key key = new Key(false, service, destination, vouched, UNKNOWN, outcome);
    Meters series = meters.get(key);
    if (series == null) {
      series = newSeries(key, () -> sentLabels(service, destination, vouched, outcome));
    }
    record(series, outcome);
  }

  private String[] sentLabels(DestinationService service, Optional<SpiffeId> destination, Optional<Workload> server,
      Outcome outcome) {
    String[] labels = labels();
    put(labels, "reporter", "source");
    workload(labels, "source", selfWorkload);
    put(labels, "source_principal", selfPrincipal);
    put(labels, "destination_service", service.host());
    put(labels, "destination_service_name", service.name());
    put(labels, "destination_service_namespace", service.namespace().equals(UNKNOWN) || service.namespace().isEmpty()
        ? destination.map(SpiffeId::namespace).orElse(UNKNOWN) : service.namespace());
    put(labels, "destination_workload_namespace", destination.map(SpiffeId::namespace)
        .orElse(service.meshExternal() || service.namespace().isEmpty() ? UNKNOWN : service.namespace()));
    server.ifPresent(peer -> workload(labels, "destination", peer));
    put(labels, "destination_principal", destination.map(Object::toString).orElse(UNKNOWN));
    // as from Istio's source proxy, which does not know the server's policy
    put(labels, "connection_security_policy", UNKNOWN);
    outcome(labels, outcome);
    return labels;
  }

  /** The FQDN Istio reports for a host a client dialled: short names resolve in this namespace. */
  public String destinationService(String host) {
    String name = host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
    if (!name.contains(".")) {
      return name + "." + self.namespace() + ".svc.cluster.local";
    }
    String[] parts = name.split("\\.");
    if (parts.length == 2 || (parts.length == 3 && parts[2].equals("svc"))) {
      return parts[0] + "." + parts[1] + ".svc.cluster.local";
    }
    return name;
  }

  private static void outcome(String[] labels, Outcome outcome) {
    put(labels, "request_protocol", outcome.protocol());
    put(labels, "response_code", Integer.toString(outcome.responseCode()));
    put(labels, "grpc_response_status", outcome.grpcStatus().map(Object::toString).orElse(""));
    put(labels, "response_flags", outcome.responseFlags());
  }

  /**
   * The meters of a new series, registered unless this reporter holds {@value #MAX_SERIES} already;
   * then null, and the refusal is counted. Synchronized, so that the bound holds exactly; only a
   * series' first request comes here.
   */
  private synchronized Meters newSeries(Key key, java.util.function.Supplier<String[]> labels) {
    Meters series = meters.get(key);
    if (series != null) {
      return series;
    }
    if (meters.size() >= MAX_SERIES) {
      if (refused == null) {
        refused = Counter.builder(REFUSED_SERIES)
            .description("Requests not recorded in Istio's metrics: their reporter holds its maximum of label combinations")
            .baseUnit("requests")
            .register(registry);
        log.warn("the Istio metrics that {}.{} reports hold {} label combinations, their limit: requests of a new one"
            + " are not recorded, and are counted in {}", self.workload(), self.namespace(), MAX_SERIES, REFUSED_SERIES);
      }
      refused.increment();
      return null;
    }
    series = register(labels.get());
    meters.put(key, series);
    return series;
  }

  private void record(Meters series, Outcome outcome) {
    if (series == null) {
      return;
    }
    series.requests().increment();
    series.duration().record(outcome.millis());
    if (outcome.requestBytes() >= 0) {
      size(series.requestBytes(), REQUEST_BYTES, "Request body size, as Istio's standard metric measures it", series.tags())
          .record(outcome.requestBytes());
    }
    if (outcome.responseBytes() >= 0) {
      size(series.responseBytes(), RESPONSE_BYTES, "Response body size, as Istio's standard metric measures it",
          series.tags()).record(outcome.responseBytes());
    }
  }

  private Meters register(String[] values) {
    String[] keyValues = new String[2 * LABELS.size()];
    for (int i = 0; i < LABELS.size(); i++) {
      keyValues[2 * i] = LABELS.get(i);
      keyValues[2 * i + 1] = values[i];
    }
    Tags tags = Tags.of(keyValues);
    return new Meters(tags,
        Counter.builder(REQUESTS)
            .description("Requests, as Istio's standard metric counts them")
            .baseUnit("requests")
            .tags(tags)
            .register(registry),
        DistributionSummary.builder(REQUEST_DURATION)
            .description("Request duration, as Istio's standard metric measures it")
            .baseUnit("milliseconds")
            .serviceLevelObjectives(ISTIO_DURATION_BUCKETS)
            .tags(tags)
            .register(registry),
        new java.util.concurrent.atomic.AtomicReference<>(), new java.util.concurrent.atomic.AtomicReference<>());
  }

  private DistributionSummary size(java.util.concurrent.atomic.AtomicReference<DistributionSummary> holder, String name,
      String description, Tags tags) {
    DistributionSummary summary = holder.get();
    if (summary == null) {
      summary = DistributionSummary.builder(name)
          .description(description)
          .baseUnit("bytes")
          .serviceLevelObjectives(ISTIO_SIZE_BUCKETS)
          .tags(tags)
          .register(registry);
      holder.set(summary);
    }
    return summary;
  }

  private static void put(String[] labels, String label, String value) {
    labels[INDEX.get(label)] = value;
  }

  private static Map<String, Integer> index() {
    Map<String, Integer> index = new java.util.HashMap<>();
    for (int i = 0; i < LABELS.size(); i++) {
      index.put(LABELS.get(i), i);
    }
    return Map.copyOf(index);
  }

  private static String[] labels() {
    String[] labels = new String[LABELS.size()];
    java.util.Arrays.fill(labels, UNKNOWN);
    return labels;
  }

  /** A workload's labels on its side ({@code source} or {@code destination}). */
  private static void workload(String[] labels, String side, Workload workload) {
    put(labels, side + "_workload", workload.workload());
    put(labels, side + "_workload_namespace", workload.namespace());
    put(labels, side + "_app", workload.app());
    put(labels, side + "_version", workload.version());
    put(labels, side + "_canonical_service", workload.canonicalService());
    put(labels, side + "_canonical_revision", workload.canonicalRevision());
  }

  private static String namespaceOf(String fqdn) {
    String[] parts = fqdn.split("\\.");
    return parts.length > 1 && fqdn.endsWith(".svc.cluster.local") ? parts[1] : UNKNOWN;
  }
}
