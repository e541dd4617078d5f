package dev.inmesh.internal.xds;

import com.google.protobuf.util.Durations;
import dev.inmesh.Locality;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.outbound.ClusterRuntime;
import dev.inmesh.internal.outbound.LoadStats;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamEndpointStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of xDS LRS: reports to the control server, at the interval it asks for, what
 * each cluster's endpoints did, by locality and endpoint (successful, failed, issued and
 * in-flight requests), as Envoy and proxyless gRPC do. mesh-control's service graph is drawn from
 * these. The stream reconnects after a failure, to whichever control server the channel
 * supplier names then (the one the ADS stream is on); counts of a failed report are lost, not
 * resent.
 */
public final class LoadReporter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LoadReporter.class);
  private static final Duration RETRY = Duration.ofSeconds(5);

  private final Supplier<ManagedChannel> channels;
  private final Node node;
  private final Supplier<Collection<ClusterRuntime>> clusters;
  private final ScheduledExecutorService sync;
  private StreamObserver<LoadStatsRequest> requests;
  private ScheduledFuture<?> reports;
  private long lastReportNanos;
  private Set<String> wanted = Set.of();
  private boolean all;
  private volatile boolean closed;

  /**
   * @param channels the channel to the control server to report to now, asked again at every
   *     reconnect; called on {@code sync}
   */
  public LoadReporter(Supplier<ManagedChannel> channels, AdsNode node, Supplier<Collection<ClusterRuntime>> clusters,
      ScheduledExecutorService sync) {
    this.channels = channels;
    this.node = node.proto();
    this.clusters = clusters;
    this.sync = sync;
  }

  public void start() {
    sync.execute(this::connect);
  }

  private void connect() {
    if (closed) {
      return;
    }
    ManagedChannel channel = channels.get();
    channel.resetConnectBackoff();
    requests = LoadReportingServiceGrpc.newStub(channel).streamLoadStats(new StreamObserver<>() {
      @Override
      public void onNext(LoadStatsResponse response) {
        execute(() -> configure(response));
      }

      @Override
      public void onError(Throwable t) {
        execute(() -> reconnect(t.getMessage()));
      }

      @Override
      public void onCompleted() {
        execute(() -> reconnect("stream closed by the server"));
      }
    });
    requests.onNext(LoadStatsRequest.newBuilder().setNode(node).build());
  }

  private void execute(Runnable task) {
    try {
      sync.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed
    }
  }

  private void configure(LoadStatsResponse response) {
    all = response.getSendAllClusters();
    wanted = Set.copyOf(response.getClustersList());
    Duration interval = response.hasLoadReportingInterval()
        ? Duration.ofNanos(Durations.toNanos(response.getLoadReportingInterval())) : Duration.ofSeconds(10);
    if (interval.compareTo(Duration.ofMillis(100)) < 0) {
      interval = Duration.ofMillis(100);
    }
    if (reports != null) {
      reports.cancel(false);
    }
    lastReportNanos = System.nanoTime();
    reports = sync.scheduleAtFixedRate(this::report, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void report() {
    if (closed || requests == null) {
      return;
    }
    long now = System.nanoTime();
    com.google.protobuf.Duration interval = Durations.fromNanos(now - lastReportNanos);
    lastReportNanos = now;
    LoadStatsRequest.Builder request = LoadStatsRequest.newBuilder().setNode(node);
    for (ClusterRuntime cluster : clusters.get()) {
      if (!all && !wanted.contains(cluster.name())) {
        continue;
      }
      Map<Endpoint, LoadStats.Counts> counts = cluster.loadStats().drain();
      java.util.Optional<LoadStats.Latencies> latencies = cluster.loadStats().drainLatencies();
      long inFlight = cluster.inFlight();
      if (counts.isEmpty() && inFlight == 0) {
        continue;
      }
      request.addClusterStats(clusterStats(cluster, counts, latencies, inFlight, interval));
    }
    try {
      requests.onNext(request.build());
    } catch (RuntimeException e) {
      log.debug("load report not sent: {}", e.getMessage());
    }
  }

  /** Named load metrics (Envoy's {@code load_metric_stats}): total / count is the value. */
  public static final String LATENCY_P50 = "latency_p50_ms";
  public static final String LATENCY_P99 = "latency_p99_ms";

  private static ClusterStats clusterStats(ClusterRuntime cluster, Map<Endpoint, LoadStats.Counts> counts,
      java.util.Optional<LoadStats.Latencies> latencies, long inFlight, com.google.protobuf.Duration interval) {
    Map<Locality, List<Map.Entry<Endpoint, LoadStats.Counts>>> byLocality = new LinkedHashMap<>();
    counts.entrySet().forEach(e -> byLocality.computeIfAbsent(e.getKey().locality(), l -> new java.util.ArrayList<>()).add(e));
    ClusterStats.Builder stats = ClusterStats.newBuilder()
        .setClusterName(cluster.name())
        .setClusterServiceName(cluster.config().edsServiceName())
        .setLoadReportInterval(interval);
    boolean inFlightReported = false;
    for (var group : byLocality.entrySet()) {
      Locality locality = group.getKey();
      UpstreamLocalityStats.Builder local = UpstreamLocalityStats.newBuilder()
          .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
              .setRegion(locality.region()).setZone(locality.zone()).setSubZone(locality.subZone()));
      long succeeded = 0;
      long failed = 0;
      long issued = 0;
      for (Map.Entry<Endpoint, LoadStats.Counts> entry : group.getValue()) {
        LoadStats.Counts c = entry.getValue();
        succeeded += c.succeeded();
        failed += c.failed();
        issued += c.issued();
        local.addUpstreamEndpointStats(UpstreamEndpointStats.newBuilder()
            .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                .setAddress(entry.getKey().address()).setPortValue(entry.getKey().port())))
            .setTotalSuccessfulRequests(c.succeeded())
            .setTotalErrorRequests(c.failed())
            .setTotalIssuedRequests(c.issued()));
      }
      local.setTotalSuccessfulRequests(succeeded).setTotalErrorRequests(failed).setTotalIssuedRequests(issued);
      if (!inFlightReported) {
        // in-flight requests and latencies are measured per cluster; they go with its first locality
        local.setTotalRequestsInProgress(inFlight);
        latencies.ifPresent(l -> local
            .addLoadMetricStats(metric(LATENCY_P50, l.count(), l.p50Millis()))
            .addLoadMetricStats(metric(LATENCY_P99, l.count(), l.p99Millis())));
        inFlightReported = true;
      }
      stats.addUpstreamLocalityStats(local);
    }
    return stats.build();
  }

  private static io.envoyproxy.envoy.config.endpoint.v3.EndpointLoadMetricStats metric(String name, long count, double value) {
    return io.envoyproxy.envoy.config.endpoint.v3.EndpointLoadMetricStats.newBuilder()
        .setMetricName(name)
        .setNumRequestsFinishedWithMetric(count)
        .setTotalMetricValue(value * count)
        .build();
  }

  private void reconnect(String reason) {
    if (closed) {
      return;
    }
    log.debug("load reporting stream ended ({}); reconnecting in {} s", reason, RETRY.toSeconds());
    if (reports != null) {
      reports.cancel(false);
      reports = null;
    }
    requests = null;
    sync.schedule(this::connect, RETRY.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    closed = true;
    if (reports != null) {
      reports.cancel(false);
    }
    StreamObserver<LoadStatsRequest> stream = requests;
    if (stream != null) {
      try {
        stream.onCompleted();
      } catch (RuntimeException e) {
        // the channel may be gone already
      }
    }
  }
}
