package dev.inmesh.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.inmesh.control.registry.WorkloadRegistry;
import dev.inmesh.control.store.Stores;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.MutableClock;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * What one peer can make the tracker hold: a request the server drops, a nonce, a profile, a
 * type URL, a log line. Every test plays the peer through the callbacks java-control-plane calls.
 */
class ClientTrackerTest {
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final XdsPeer READ_ONLY = new XdsPeer(Optional.empty(), Optional.empty(), XdsPeer.Port.READ_ONLY);

  private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T10:00:00Z"));
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final Stores stores = Stores.inMemory();
  private final XdsLimits limits = XdsLimits.defaults().withMaxProfiles(3);
  private final Profiles profiles = new Profiles(clock, limits);
  private final List<String> newProfiles = new ArrayList<>();
  private final ClientTracker tracker = new ClientTracker(clock,
      new WorkloadRegistry(stores.registry(), scheduler, Duration.ofSeconds(1), clock), profiles, limits, newProfiles::add);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
    stores.close();
  }

  private static Node node(String id, String namespace) {
    return Node.newBuilder().setId(id).setMetadata(com.google.protobuf.Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, com.google.protobuf.Value.newBuilder().setStringValue(namespace).build())).build();
  }

  private void request(long stream, XdsPeer peer, DiscoveryRequest request) throws RequestException {
    Context context = Context.current().withValue(XdsPeer.KEY, peer);
    Context previous = context.attach();
    try {
      tracker.onV3StreamRequest(stream, request);
    } finally {
      context.detach(previous);
    }
  }

  /** Opens a stream on the read-only port as {@code node}, and answers it once with LDS as nonce "0", version "v0". */
  private void connect(long stream, Node node) throws RequestException {
    tracker.onStreamOpen(stream, "");
    DiscoveryRequest first = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build();
    request(stream, READ_ONLY, first);
    tracker.normalized(first);
    respond(stream, "0", "v0");
  }

  private void respond(long stream, String nonce, String version) {
    tracker.onV3StreamResponse(stream, null, DiscoveryResponse.newBuilder().setTypeUrl(LDS).setNonce(nonce)
        .setVersionInfo(version).build());
  }

  private static DiscoveryRequest stale(int i) {
    return DiscoveryRequest.newBuilder().setTypeUrl(LDS).setVersionInfo("v0").setResponseNonce("stale-" + i).build();
  }

  private static DiscoveryRequest nack(String nonce) {
    return DiscoveryRequest.newBuilder().setTypeUrl(LDS).setVersionInfo("v0").setResponseNonce(nonce)
        .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("no such filter")).build();
  }

  private Status refusal(long stream, XdsPeer peer, DiscoveryRequest request) {
    tracker.onStreamOpen(stream, "");
    try {
      request(stream, peer, request);
    } catch (RequestException e) {
      return e.getStatus();
    }
    throw new AssertionError("stream " + stream + " was admitted");
  }

  @Test
  void aStreamHoldsOnePreparedRequestHoweverManyTheServerDropsAsStale() throws Exception {
    connect(1, node("flooder", "default"));
    for (int i = 0; i < 10_000; i++) {
      // java-control-plane drops each for its stale nonce and never asks the cache for it
      request(1, READ_ONLY, stale(i));
    }

    assertThat(tracker.pendingCount()).isEqualTo(1);
  }

  @Test
  void thePreparedRequestIsServedAsTheAdmittedNode() throws Exception {
    Node admitted = node("client", "default");
    connect(1, admitted);
    DiscoveryRequest ack = DiscoveryRequest.newBuilder().setTypeUrl(LDS).setVersionInfo("v0").setResponseNonce("0").build();
    request(1, READ_ONLY, ack);

    assertThat(tracker.normalized(ack).getNode()).isEqualTo(admitted);
    assertThat(tracker.pendingCount()).isZero();
  }

  @Test
  void everythingOfAStreamGoesWithIt() throws Exception {
    connect(1, node("client", "shop"));
    request(1, READ_ONLY, stale(1));
    tracker.onStreamCloseWithError(1, LDS, Status.CANCELLED.asException());

    assertThat(tracker.pendingCount()).isZero();
    assertThat(tracker.streamCount()).isZero();
    assertThat(tracker.clients()).isEmpty();
    clock.advance(limits.profileIdleTime().plusSeconds(1));
    assertThat(profiles.evictIdle(key -> true)).as("its profile has no client left").containsExactly("shop;grpc");
  }

  @Test
  void aRequestOnAStreamThatEndedIsNeitherServedNorCounted() throws Exception {
    connect(1, node("client", "shop"));
    tracker.onStreamCloseWithError(1, LDS, Status.CANCELLED.asException());

    assertThatThrownBy(() -> request(1, READ_ONLY, DiscoveryRequest.newBuilder().setNode(node("late", "late"))
        .setTypeUrl(LDS).build()))
        .isInstanceOfSatisfying(RequestException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED));
    assertThat(tracker.streamCount()).isZero();
    assertThat(profiles.keys()).containsExactly("shop;grpc");
  }

  @Test
  void aNackNamesTheVersionOfTheLastResponseOfItsType() throws Exception {
    connect(1, node("client", "default"));
    respond(1, "1", "v1");
    respond(1, "2", "v2");
    DiscoveryRequest current = nack("2");
    request(1, READ_ONLY, current);

    assertThat(tracker.clients().get(0).types().get("LDS").lastNack().orElseThrow().version()).isEqualTo("v2");
    assertThat(tracker.normalized(current).getVersionInfo()).as("the cache is told the rejected version").isEqualTo("v2");

    DiscoveryRequest older = nack("1");
    request(1, READ_ONLY, older);
    assertThat(tracker.clients().get(0).types().get("LDS").lastNack().orElseThrow().version())
        .as("only the last response of a type can be NACKed").isEmpty();
  }

  @Test
  void aNewProfileBeyondTheLimitIsRefusedWithResourceExhausted() throws Exception {
    connect(1, node("a", "ns-a"));
    connect(2, node("b", "ns-b"));
    connect(3, node("c", "ns-c"));

    Status status = refusal(4, READ_ONLY, DiscoveryRequest.newBuilder().setNode(node("d", "ns-d")).setTypeUrl(LDS).build());

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).contains("node d would need a new client profile (ns-d;grpc)")
        .contains("keeps 3 at most");
    assertThat(newProfiles).containsExactly("ns-a;grpc", "ns-b;grpc", "ns-c;grpc");
    assertThat(tracker.streamCount()).isEqualTo(3);
    connect(5, node("a2", "ns-a"));
    assertThat(tracker.clients()).as("a profile that exists still takes clients").hasSize(4);
  }

  @Test
  void aClientWhoseNamespaceMutualTlsProvesIsServedBeyondTheLimit() throws Exception {
    connect(1, node("a", "ns-a"));
    connect(2, node("b", "ns-b"));
    connect(3, node("c", "ns-c"));
    XdsPeer proven = new XdsPeer(Optional.of(new SpiffeId("cluster.local", "shop", "web")), Optional.empty(),
        XdsPeer.Port.MUTUAL_TLS);
    tracker.onStreamOpen(4, "");

    request(4, proven, DiscoveryRequest.newBuilder().setNode(node("web", "shop")).setTypeUrl(LDS).build());

    assertThat(newProfiles).contains("shop;grpc");
    assertThat(profiles.size()).isEqualTo(4);
  }

  @Test
  void aTypeMeshControlDoesNotServeIsRefusedAndMakesNoMeter() throws Exception {
    tracker.metrics(new XdsMetrics(meters, () -> 0));
    connect(1, node("client", "default"));
    int before = meters.getMeters().size();
    List<Status> statuses = new ArrayList<>();
    for (int i = 2; i < 102; i++) {
      connect(i, node("client-" + i, "default"));
      // a NACK of a type of its own making: a tag value per type would be a meter per request
      DiscoveryRequest invented = nack("0").toBuilder().setTypeUrl("type.googleapis.com/invented.Type" + i).build();
      try {
        request(i, READ_ONLY, invented);
      } catch (RequestException e) {
        statuses.add(e.getStatus());
      }
    }

    assertThat(statuses).hasSize(100).allSatisfy(status -> {
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).contains("is none that mesh-control serves (LDS, RDS, CDS, EDS, SDS)");
    });
    assertThat(tracker.streamCount()).as("each refused stream is forgotten").isEqualTo(1);
    assertThat(meters.getMeters()).hasSize(before);
  }

  @Test
  void theTypeTagOfAMeterIsAServedTypeOrOther() {
    XdsMetrics metrics = new XdsMetrics(meters, () -> 0);
    metrics.rejected("CDS");
    metrics.rejected("type.googleapis.com/invented.Type");

    assertThat(meters.find("pilot_total_xds_rejects").counters())
        .extracting(counter -> counter.getId().getTag("type"))
        .containsExactlyInAnyOrder("cds", "other");
  }

  @Test
  void refusalsAreLoggedOncePerIntervalWithTheCountOfTheOthers() {
    ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(ClientTracker.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    try {
      DiscoveryRequest nodeless = DiscoveryRequest.newBuilder().setTypeUrl(LDS).build();
      for (int i = 0; i < 50; i++) {
        refusal(i, READ_ONLY, nodeless);
      }
      clock.advance(limits.warningInterval());
      refusal(50, READ_ONLY, nodeless);

      List<String> warnings = appender.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(warnings).hasSize(2);
      assertThat(warnings.get(0)).contains("refused xDS stream 0 (INVALID_ARGUMENT)").contains("must carry its node");
      assertThat(warnings.get(1)).contains("refused xDS stream 50").contains("49 more like it");
    } finally {
      logger.detachAppender(appender);
    }
  }
}
