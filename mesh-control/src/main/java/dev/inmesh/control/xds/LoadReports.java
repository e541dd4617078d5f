package dev.inmesh.control.xds;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of xDS LRS: every client (Inmesh, or proxyless gRPC whose cluster names an LRS
 * server) reports per cluster what it sent where; mesh-control keeps the totals and the latest
 * rate per client and cluster. This is what the service graph is drawn from.
 *
 * <p>Clients and cluster names are the reporters' to choose, so what is kept is bounded: the
 * entries of a client that has not reported for {@link XdsLimits#loadReportRetention()} are
 * dropped, and beyond {@link XdsLimits#maxLoadReportEdges()} entries a new one is not kept.
 */
public final class LoadReports extends LoadReportingServiceGrpc.LoadReportingServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(LoadReports.class);

  /**
   * One client's traffic to one cluster: totals since it connected, and the last interval's rate.
   * {@code owner} is the node of the workload the traffic is of ({@link
   * dev.inmesh.internal.xds.WorkloadMetadata#ownerOf}: a grpc-xds channel's is its Mesh's node), and
   * {@code namespace} the reporter's (proven by its certificate when reports come over mutual TLS).
   */
  public record Edge(String client, String owner, String namespace, String cluster, String service, long succeeded, long failed, long inFlight,
      double requestsPerSecond, double errorsPerSecond, double p50Millis, double p99Millis, Instant updatedAt) {}

  private final Duration interval;
  private final Clock clock;
  private final boolean verified;
  private final XdsLimits limits;
  private final RateLimitedWarning dropped;
  /** Per reporting client, its entries by cluster; guarded by {@code this}. */
  private final Map<String, Reporter> reporters = new HashMap<>();
  private int edgeCount;
  private Instant nextSweep = Instant.MIN;

  private static final class Reporter {
    Instant lastReport;
    final Map<String, Edge> byCluster = new HashMap<>();
  }

  /**
   * @param verified whether reports come over mutual TLS: then a reporter's node must be of the
   *     namespace its certificate proves, so that no one reports traffic for another namespace
   */
  public LoadReports(Duration interval, Clock clock, boolean verified, XdsLimits limits) {
    this.interval = interval;
    this.clock = clock;
    this.verified = verified;
    this.limits = limits;
    this.dropped = new RateLimitedWarning(clock, limits.warningInterval());
  }

  @Override
  public StreamObserver<LoadStatsRequest> streamLoadStats(StreamObserver<LoadStatsResponse> responses) {
    return new StreamObserver<>() {
      private String client = "unknown";
      private String owner = "unknown";
      private String namespace = dev.inmesh.internal.xds.WorkloadMetadata.DEFAULT_NAMESPACE;
      private boolean configured;

      private boolean refused;

      @Override
      public void onNext(LoadStatsRequest request) {
        if (refused) {
          return;
        }
        if (request.hasNode()) {
          if (verified) {
            XdsPeer peer = XdsPeer.current();
            String namespace = dev.inmesh.internal.xds.WorkloadMetadata.namespaceOf(request.getNode());
            if (peer.identity().isEmpty() || !peer.identity().get().namespace().equals(namespace)) {
              refused = true;
              responses.onError(io.grpc.Status.PERMISSION_DENIED.withDescription("load reports of node "
                  + request.getNode().getId() + " (" + dev.inmesh.internal.xds.WorkloadMetadata.NAMESPACE + "=" + namespace
                  + ") need a certificate of that namespace").asRuntimeException());
              return;
            }
          }
          client = request.getNode().getId();
          owner = dev.inmesh.internal.xds.WorkloadMetadata.ownerOf(request.getNode());
          namespace = dev.inmesh.internal.xds.WorkloadMetadata.namespaceOf(request.getNode());
        }
        if (!configured) {
          configured = true;
          responses.onNext(LoadStatsResponse.newBuilder()
              .setSendAllClusters(true)
              .setLoadReportingInterval(Durations.fromNanos(interval.toNanos()))
              .build());
        }
        record(client, owner, namespace, request.getClusterStatsList());
      }

      @Override
      public void onError(Throwable t) {
        log.debug("load reports from {} ended: {}", client, t.getMessage());
      }

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  /** One report of {@code client}: also when it names no cluster, it says the client is still there. */
  private synchronized void record(String client, String owner, String namespace, List<ClusterStats> clusters) {
    Instant now = clock.instant();
    sweep(now);
    Reporter reporter = reporters.get(client);
    if (reporter == null) {
      if (clusters.isEmpty()) {
        return;
      }
      reporter = new Reporter();
      reporters.put(client, reporter);
    }
    reporter.lastReport = now;
    for (ClusterStats stats : clusters) {
      Edge old = reporter.byCluster.get(stats.getClusterName());
      if (old == null && edgeCount >= limits.maxLoadReportEdges()) {
        dropped.log(log, "load reports: mesh-control keeps " + limits.maxLoadReportEdges() + " client-to-cluster entries"
            + " at most and holds as many; not kept: " + abbreviate(client) + " to " + abbreviate(stats.getClusterName()));
        continue;
      }
      if (old == null) {
        edgeCount++;
      }
      reporter.byCluster.put(stats.getClusterName(), edge(client, owner, namespace, stats, old, now));
    }
    if (reporter.byCluster.isEmpty()) {
      reporters.remove(client);
    }
  }

  /** Drops the entries of clients that stopped reporting; looks at most once per report interval. */
  private void sweep(Instant now) {
    if (now.isBefore(nextSweep)) {
      return;
    }
    nextSweep = now.plus(interval);
    Instant before = now.minus(limits.loadReportRetention());
    for (var it = reporters.values().iterator(); it.hasNext(); ) {
      Reporter reporter = it.next();
      if (reporter.lastReport.isBefore(before)) {
        edgeCount -= reporter.byCluster.size();
        it.remove();
      }
    }
  }

  private Edge edge(String client, String owner, String namespace, ClusterStats stats, Edge old, Instant now) {
    long succeeded = 0;
    long failed = 0;
    long inFlight = 0;
    double p50 = Double.NaN;
    double p99 = Double.NaN;
    for (UpstreamLocalityStats locality : stats.getUpstreamLocalityStatsList()) {
      succeeded += locality.getTotalSuccessfulRequests();
      failed += locality.getTotalErrorRequests();
      inFlight += locality.getTotalRequestsInProgress();
      for (var metric : locality.getLoadMetricStatsList()) {
        if (metric.getNumRequestsFinishedWithMetric() > 0) {
          double value = metric.getTotalMetricValue() / metric.getNumRequestsFinishedWithMetric();
          switch (metric.getMetricName()) {
            case "latency_p50_ms" -> p50 = value;
            case "latency_p99_ms" -> p99 = value;
            default -> { }
          }
        }
      }
    }
    double seconds = stats.hasLoadReportInterval() ? Durations.toNanos(stats.getLoadReportInterval()) / 1e9 : interval.toSeconds();
    double perSecond = seconds > 0 ? 1 / seconds : 0;
    String service = service(stats.getClusterName());
    if (old == null) {
      return new Edge(client, owner, namespace, stats.getClusterName(), service, succeeded, failed, inFlight, (succeeded + failed) * perSecond,
          failed * perSecond, p50, p99, now);
    }
    return new Edge(client, owner, namespace, old.cluster(), service, old.succeeded() + succeeded, old.failed() + failed, inFlight,
        (succeeded + failed) * perSecond, failed * perSecond, Double.isNaN(p50) ? old.p50Millis() : p50,
        Double.isNaN(p99) ? old.p99Millis() : p99, now);
  }

  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 80) + "…";
  }

  /** {@code outbound|9080|v1|reviews.default.svc.cluster.local} → {@code reviews.default.svc.cluster.local}. */
  static String service(String cluster) {
    String[] parts = cluster.split("\\|");
    return parts.length == 4 ? parts[3] : cluster;
  }

  /** Every client's traffic per cluster, as last reported. */
  public synchronized List<Edge> edges() {
    sweep(clock.instant());
    List<Edge> edges = new ArrayList<>(edgeCount);
    reporters.values().forEach(reporter -> edges.addAll(reporter.byCluster.values()));
    return edges;
  }

  /** How many client-to-cluster entries are kept now. */
  synchronized int edgeCount() {
    return edgeCount;
  }
}
