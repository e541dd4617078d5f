package dev.inmesh.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.registry.WorkloadRegistry;
import dev.inmesh.control.store.Stores;
import dev.inmesh.control.translate.Translation;
import dev.inmesh.internal.xds.ControlPlaneChannels;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.MutableClock;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An XdsServer on a loopback port, its clients raw ADS streams, its clock moved by hand. */
class XdsServerTest {
  private static final Translation EMPTY = new Translation(List.of(), List.of(), List.of(), List.of(), List.of());

  private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T10:00:00Z"));
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final Stores stores = Stores.inMemory();
  private XdsServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server = new XdsServer(new InetSocketAddress("127.0.0.1", 0), clock,
        new WorkloadRegistry(stores.registry(), scheduler, Duration.ofSeconds(1), clock), key -> server.publish(key, EMPTY));
    server.start();
    channel = ControlPlaneChannels.plaintext("127.0.0.1:" + server.port());
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.close();
    scheduler.shutdownNow();
    stores.close();
  }

  /** Opens an ADS stream as a client of {@code namespace}; its first response is taken from {@code responses}. */
  private StreamObserver<DiscoveryRequest> connect(String namespace, BlockingQueue<DiscoveryResponse> responses) {
    StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(new StreamObserver<>() {
          @Override
          public void onNext(DiscoveryResponse response) {
            responses.add(response);
          }

          @Override
          public void onError(Throwable t) {
          }

          @Override
          public void onCompleted() {
          }
        });
    Node node = Node.newBuilder().setId("client-" + namespace).setMetadata(com.google.protobuf.Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, com.google.protobuf.Value.newBuilder().setStringValue(namespace).build()))
        .build();
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(Resources.V3.LISTENER_TYPE_URL).build());
    return requests;
  }

  @Test
  void aProfileWithoutAClientIsDroppedWithItsSnapshotAfterTheIdleTime() throws Exception {
    BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<DiscoveryRequest> client = connect("shop", responses);
    assertThat(responses.poll(10, TimeUnit.SECONDS)).isNotNull();
    assertThat(server.profileKeys()).containsExactly("shop;grpc");

    client.onCompleted();
    Await.until(() -> server.footprint().streams() == 0, Duration.ofSeconds(5), "the stream to end");
    assertThat(server.evictIdleProfiles()).as("its last client left just now").isEmpty();
    clock.advance(XdsLimits.defaults().profileIdleTime().plusSeconds(1));
    // the cache keeps a snapshot while the ended stream's watch is still being cancelled
    Await.until(() -> server.evictIdleProfiles().contains("shop;grpc"), Duration.ofSeconds(5), "the profile to go");

    assertThat(server.profileKeys()).isEmpty();
    assertThat(server.snapshot("shop;grpc")).isNull();
    assertThat(server.footprint()).isEqualTo(new XdsServer.Footprint(0, 0, 0, 0));

    StreamObserver<DiscoveryRequest> back = connect("shop", responses);
    assertThat(responses.poll(10, TimeUnit.SECONDS)).as("a client that comes back is served anew").isNotNull();
    back.onCompleted();
  }

  @Test
  void aPinnedProfileStaysWithoutAClient() {
    server.pinProfile("default");
    clock.advance(Duration.ofDays(1));

    assertThat(server.evictIdleProfiles()).isEmpty();
    assertThat(server.profileKeys()).containsExactly("default");
  }
}
