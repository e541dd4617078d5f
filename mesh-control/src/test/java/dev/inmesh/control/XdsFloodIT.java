package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.xds.XdsServer;
import dev.inmesh.internal.xds.ControlPlaneChannels;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.ControlPlaneAccess;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer floods a real mesh-control over raw ADS: requests that java-control-plane drops for their
 * stale nonces, and streams for ever new namespaces. What mesh-control holds stays within its
 * bounds (docs/security.md, "Bounds"). Each test prints the heap in use after a GC, and the
 * meter series, before and after its flood.
 */
class XdsFloodIT {
  private static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final int STALE_REQUESTS = 100_000;
  private static final int NAMESPACES = 600;

  @TempDir
  Path configDir;
  MeshFixture mesh;

  @BeforeEach
  void start() throws Exception {
    mesh = new MeshFixture(configDir, Duration.ofSeconds(1));
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  private static Node node(String id, String namespace) {
    return Node.newBuilder().setId(id).setMetadata(com.google.protobuf.Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, com.google.protobuf.Value.newBuilder().setStringValue(namespace).build())).build();
  }

  /** An ADS stream whose responses, and then its end as a Status, go to {@code received}. */
  private static ClientCallStreamObserver<DiscoveryRequest> stream(ManagedChannel channel, BlockingQueue<Object> received) {
    return (ClientCallStreamObserver<DiscoveryRequest>) AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(new StreamObserver<>() {
          @Override
          public void onNext(DiscoveryResponse response) {
            received.add(response);
          }

          @Override
          public void onError(Throwable t) {
            received.add(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            received.add(Status.OK);
          }
        });
  }

  private static long heapUsedAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Await.sleep(Duration.ofMillis(100));
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static String megabytes(long bytes) {
    return String.format("%.1f MB", bytes / 1e6);
  }

  /** Meter series in mesh-control's scrape: a line each, but for comments. */
  private int meterSeries() {
    return (int) mesh.control.scrapeMetrics().lines().filter(line -> !line.isEmpty() && !line.startsWith("#")).count();
  }

  @Test
  void nodelessRequestsWithStaleNoncesLeaveNothingBehind() throws Exception {
    try (ControlPlaneAccess.Channel channel = mesh.access().channel("default", "flooder")) {
      BlockingQueue<Object> received = new LinkedBlockingQueue<>();
      ClientCallStreamObserver<DiscoveryRequest> requests = stream(channel.channel(), received);
      requests.onNext(DiscoveryRequest.newBuilder().setNode(node("flooder", "default")).setTypeUrl(LDS).build());
      Object first = received.poll(10, TimeUnit.SECONDS);
      assertThat(first).isInstanceOf(DiscoveryResponse.class);
      String version = ((DiscoveryResponse) first).getVersionInfo();
      // one NACK first, so that its meter is there before counting
      requests.onNext(nack(version, "warm-up", "warm-up"));
      Await.until(() -> lastNack().equals("warm-up"), Duration.ofSeconds(10), "the warm-up NACK");
      long heapBefore = heapUsedAfterGc();
      int seriesBefore = meterSeries();

      long start = System.nanoTime();
      for (int i = 0; i < STALE_REQUESTS; i++) {
        while (!requests.isReady()) {
          LockSupport.parkNanos(100_000);
        }
        // no node, a nonce mesh-control never sent: java-control-plane drops each without a watch
        DiscoveryRequest.Builder request = DiscoveryRequest.newBuilder().setTypeUrl(LDS).setVersionInfo(version)
            .setResponseNonce("stale-" + i);
        requests.onNext(i % 2 == 0 ? request.build() : nack(version, "stale-" + i, "rejected " + i));
      }
      requests.onNext(nack(version, "stale-last", "the last one"));
      // requests of a stream are handled in order: when the last is seen, all were
      Await.until(() -> lastNack().equals("the last one"), Duration.ofSeconds(40), "the flood to be handled", this::lastNack);
      long millis = (System.nanoTime() - start) / 1_000_000;
      XdsServer.Footprint footprint = mesh.control.xds().footprint();
      long heapAfter = heapUsedAfterGc();
      int seriesAfter = meterSeries();
      System.out.printf("flood of %,d node-less requests with stale nonces (half of them NACKs) over mutual TLS, handled in"
          + " %,d ms: heap used after GC %s before, %s after; meter series %d before, %d after; %s%n", STALE_REQUESTS, millis,
          megabytes(heapBefore), megabytes(heapAfter), seriesBefore, seriesAfter, footprint);

      assertThat(footprint.pendingRequests()).as("prepared requests: at most one per open stream")
          .isLessThanOrEqualTo(footprint.streams());
      assertThat(seriesAfter).isEqualTo(seriesBefore);
      assertThat(received).as("the stream still stands, and was sent nothing for the dropped requests").isEmpty();
      requests.onCompleted();
      Await.until(() -> mesh.control.xds().footprint().streams() == 0, Duration.ofSeconds(10), "the stream to end");
      assertThat(mesh.control.xds().footprint().pendingRequests()).isZero();
    }
  }

  private static DiscoveryRequest nack(String version, String nonce, String message) {
    return DiscoveryRequest.newBuilder().setTypeUrl(LDS).setVersionInfo(version).setResponseNonce(nonce)
        .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage(message)).build();
  }

  private String lastNack() {
    return mesh.control.clients().stream().filter(c -> c.nodeId().equals("flooder"))
        .flatMap(c -> c.types().values().stream())
        .flatMap(t -> t.lastNack().stream())
        .map(nack -> nack.message())
        .findFirst().orElse("");
  }

  @Test
  void streamsForEverNewNamespacesAreRefusedBeyondTheProfileLimit() throws Exception {
    ManagedChannel readOnly = ControlPlaneChannels.plaintext(mesh.readOnlyAddress());
    try {
      // one client of the pinned profile first, so that the meter of what is pushed is there before counting
      BlockingQueue<Object> warmUp = new LinkedBlockingQueue<>();
      ClientCallStreamObserver<DiscoveryRequest> inmesh = stream(readOnly, warmUp);
      inmesh.onNext(DiscoveryRequest.newBuilder().setNode(node("warm-up", "default").toBuilder().setUserAgentName("inmesh"))
          .setTypeUrl(LDS).build());
      assertThat(warmUp.poll(10, TimeUnit.SECONDS)).isInstanceOf(DiscoveryResponse.class);
      inmesh.onCompleted();
      int profilesBefore = mesh.control.xds().profileKeys().size();
      long heapBefore = heapUsedAfterGc();
      int seriesBefore = meterSeries();

      long start = System.nanoTime();
      List<ClientCallStreamObserver<DiscoveryRequest>> streams = new ArrayList<>();
      List<BlockingQueue<Object>> outcomes = new ArrayList<>();
      for (int i = 0; i < NAMESPACES; i++) {
        BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        ClientCallStreamObserver<DiscoveryRequest> requests = stream(readOnly, received);
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node("flooder-" + i, "flood-" + i)).setTypeUrl(LDS).build());
        streams.add(requests);
        outcomes.add(received);
      }
      List<Object> firsts = new ArrayList<>();
      for (BlockingQueue<Object> received : outcomes) {
        Object first = received.poll(30, TimeUnit.SECONDS);
        assertThat(first).as("every stream is answered or refused").isNotNull();
        firsts.add(first);
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      XdsServer.Footprint footprint = mesh.control.xds().footprint();
      long heapAfter = heapUsedAfterGc();
      int seriesAfter = meterSeries();
      Map<String, Long> outcome = firsts.stream().collect(Collectors.groupingBy(
          first -> first instanceof Status status ? status.getCode().name() : "served", Collectors.counting()));
      System.out.printf("%d streams for %d new namespaces on the read-only port, answered in %,d ms: %s; heap used after GC %s"
          + " before, %s after; meter series %d before, %d after; %s%n", NAMESPACES, NAMESPACES, millis, outcome,
          megabytes(heapBefore), megabytes(heapAfter), seriesBefore, seriesAfter, footprint);

      int limit = 512;
      assertThat(outcome).containsEntry("served", (long) (limit - profilesBefore))
          .containsEntry("RESOURCE_EXHAUSTED", (long) (NAMESPACES - limit + profilesBefore));
      assertThat(footprint.profiles()).isEqualTo(limit);
      assertThat(firsts).filteredOn(Status.class::isInstance).map(Status.class::cast).first()
          .satisfies(status -> assertThat(status.getDescription()).contains("would need a new client profile")
              .contains("keeps 512 at most"));
      assertThat(seriesAfter).isEqualTo(seriesBefore);

      // a workload whose namespace mutual TLS proves is served beyond the limit
      try (ControlPlaneAccess.Channel shop = mesh.access().channel("shop", "web")) {
        BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        ClientCallStreamObserver<DiscoveryRequest> requests = stream(shop.channel(), received);
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node("web-1", "shop")).setTypeUrl(LDS).build());
        assertThat(received.poll(10, TimeUnit.SECONDS)).isInstanceOf(DiscoveryResponse.class);
        requests.onCompleted();
      }

      streams.forEach(StreamObserver::onCompleted);
      Await.until(() -> mesh.control.xds().footprint().streams() == 0, Duration.ofSeconds(10), "every stream to end",
          () -> mesh.control.xds().footprint().toString());
      assertThat(mesh.control.xds().footprint().pendingRequests()).isZero();
    } finally {
      readOnly.shutdownNow();
    }
  }
}
