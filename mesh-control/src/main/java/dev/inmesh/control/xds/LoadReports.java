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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of xDS LRS: every client (Inmesh, or proxyless gRPC whose cluster names an LRS
 * server) reports per cluster what it sent where; mesh-control keeps the totals and the latest
 * rate per client and cluster. This is what the service graph is drawn from.
 */
public final class LoadReports extends LoadReportingServiceGrpc.LoadReportingServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(LoadReports.class);

  /** One client's traffic to one cluster: totals since it connected, and the last interval's rate. */
  public record Edge(String client, String cluster, String service, long succeeded, long failed, long inFlight,
      double requestsPerSecond, double errorsPerSecond, double p50Millis, double p99Millis, Instant updatedAt) {}

  private final Duration interval;
  private final Clock clock;
  private final Map<String, Edge> edges = new ConcurrentHashMap<>();
  private final boolean verified;

  public LoadReports(Duration interval, Clock clock) {
    this(interval, clock, false);
  }

  /**
   * @param verified whether reports come over mutual TLS: then a reporter's node must be of the
   *     namespace its certificate proves, so that no one reports traffic for another namespace
   */
  public LoadReports(Duration interval, Clock clock, boolean verified) {
    this.interval = interval;
    this.clock = clock;
    this.verified = verified;
  }

  @Override
  public StreamObserver<LoadStatsRequest> streamLoadStats(StreamObserver<LoadStatsResponse> responses) {
    return new StreamObserver<>() {
      private String client = "unknown";
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
            String namespace = dev.inmesh.xds.WorkloadMetadata.namespaceOf(request.getNode());
            if (peer.identity().isEmpty() || !peer.identity().get().namespace().equals(namespace)) {
              refused = true;
              responses.onError(io.grpc.Status.PERMISSION_DENIED.withDescription("load reports of node "
                  + request.getNode().getId() + " (" + dev.inmesh.xds.WorkloadMetadata.NAMESPACE + "=" + namespace
                  + ") need a certificate of that namespace").asRuntimeException());
              return;
            }
          }
          client = request.getNode().getId();
        }
        if (!configured) {
          configured = true;
          responses.onNext(LoadStatsResponse.newBuilder()
              .setSendAllClusters(true)
              .setLoadReportingInterval(Durations.fromNanos(interval.toNanos()))
              .build());
        }
        for (ClusterStats stats : request.getClusterStatsList()) {
          record(client, stats);
        }
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

  private void record(String client, ClusterStats stats) {
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
    double latest50 = p50;
    double latest99 = p99;
    double seconds = stats.hasLoadReportInterval() ? Durations.toNanos(stats.getLoadReportInterval()) / 1e9 : interval.toSeconds();
    double perSecond = seconds > 0 ? 1 / seconds : 0;
    long ok = succeeded;
    long bad = failed;
    long now = inFlight;
    String service = service(stats.getClusterName());
    edges.merge(client + "|" + stats.getClusterName(),
        new Edge(client, stats.getClusterName(), service, ok, bad, now, (ok + bad) * perSecond, bad * perSecond,
            latest50, latest99, clock.instant()),
        (old, fresh) -> new Edge(client, old.cluster(), service, old.succeeded() + ok, old.failed() + bad, now,
            (ok + bad) * perSecond, bad * perSecond, Double.isNaN(latest50) ? old.p50Millis() : latest50,
            Double.isNaN(latest99) ? old.p99Millis() : latest99, fresh.updatedAt()));
  }

  /** {@code outbound|9080|v1|reviews.default.svc.cluster.local} → {@code reviews.default.svc.cluster.local}. */
  static String service(String cluster) {
    String[] parts = cluster.split("\\|");
    return parts.length == 4 ? parts[3] : cluster;
  }

  /** Every client's traffic per cluster, as last reported. */
  public List<Edge> edges() {
    return new ArrayList<>(edges.values());
  }
}
