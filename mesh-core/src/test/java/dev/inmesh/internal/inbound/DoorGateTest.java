package dev.inmesh.internal.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.MeshConfig;
import dev.inmesh.Ticker;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.telemetry.AccessLog;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.tracing.Tracing;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The per-request decisions, with the door's table filled by the test. */
class DoorGateTest {
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  private static final InetSocketAddress BACKEND_SIDE = new InetSocketAddress(LOOPBACK, 50000);
  private final DoorConnection connection = new DoorConnection(new Socket(), LOOPBACK, Ticker.system());
  private static final RequestHead GET = new RequestHead("GET", "reviews:9080", "/reviews/1", name -> List.of());

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ConnectionTable table = new ConnectionTable();
  private final AtomicReference<Optional<InboundPolicy>> policy = new AtomicReference<>(Optional.empty());
  private final InboundGate gate = new DoorGate(9080, table, p -> policy.get(), new InboundMetrics(recorder(registry,
      new MeshConfig(List.of("127.0.0.1:15010"), "default", Optional.of("reviews"), "reviews", Map.of(), Locality.UNKNOWN,
          "127.0.0.1", List.of(new ServicePort("http", 9080, 9080, "HTTP")), Duration.ofSeconds(1))),
      "http"), Clock.systemUTC());

  static CallRecorder recorder(MeterRegistry registry, MeshConfig config) {
    CallRecorder recorder = CallRecorder.unbound(config, Optional.empty(), AccessLog.envoyDefault(), Tracing.NONE);
    recorder.bindTo(registry);
    return recorder;
  }

  private static PeerInfo peer(boolean mtls) {
    return new PeerInfo(new InetSocketAddress("10.0.0.7", 41000), new InetSocketAddress(LOOPBACK, 9080),
        mtls ? PeerInfo.Security.MUTUAL_TLS : PeerInfo.Security.NONE,
        mtls ? Optional.of(new SpiffeId("cluster.local", "default", "productpage")) : Optional.empty(), Optional.empty());
  }

  private ConnectionTable.Relay relay(PeerInfo peer) {
    return new ConnectionTable.Relay(BACKEND_SIDE, peer, connection);
  }

  private void mode(MtlsMode mode) {
    policy.set(Optional.of(new InboundPolicy("inbound|9080", 9080, mode, AuthorizationEngine.EMPTY)));
  }

  private double requests(String code, String security) {
    var counter = registry.find(InboundMetrics.REQUESTS).tags("response_code", code, "connection_security_policy", security)
        .counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void aRequestThatDidNotComeThroughTheDoorIsDenied() {
    mode(MtlsMode.PERMISSIVE);

    assertThat(gate.admit(LOOPBACK, 50000, GET)).isEqualTo(new InboundGate.Refused(403, "RBAC: access denied"));
    assertThat(requests("403", "unknown")).isEqualTo(1);
  }

  @Test
  void theBackendSideAddressMustMatchAsWellAsThePort() throws Exception {
    mode(MtlsMode.PERMISSIVE);
    table.put(relay(peer(false)));

    assertThat(gate.admit(InetAddress.getByName("127.0.0.2"), 50000, GET)).isInstanceOf(InboundGate.Refused.class);
    assertThat(gate.admit(LOOPBACK, 50000, GET)).isInstanceOf(InboundGate.Admitted.class);
  }

  @Test
  void anAdmittedRequestCarriesItsPeerAndIsCountedWithTheHandlersCode() {
    mode(MtlsMode.STRICT);
    table.put(relay(peer(true)));

    InboundGate.Verdict verdict = gate.admit(LOOPBACK, 50000, GET);

    assertThat(verdict).isInstanceOfSatisfying(InboundGate.Admitted.class, admitted -> {
      assertThat(admitted.peer()).isEqualTo(peer(true));
      admitted.complete(204);
    });
    assertThat(requests("204", "mutual_tls")).isEqualTo(1);
  }

  @Test
  void aPlaintextConnectionAcceptedUnderPermissiveCarriesNoMoreRequestsOnceThePortIsStrict() {
    mode(MtlsMode.PERMISSIVE);
    table.put(relay(peer(false)));
    assertThat(gate.admit(LOOPBACK, 50000, GET)).isInstanceOf(InboundGate.Admitted.class);

    mode(MtlsMode.STRICT);

    assertThat(gate.admit(LOOPBACK, 50000, GET)).isEqualTo(new InboundGate.Refused(403, "RBAC: access denied"));
  }

  @Test
  void whenThePolicyIsGoneRequestsAreRefusedAsUnavailable() {
    table.put(relay(peer(false)));

    assertThat(gate.admit(LOOPBACK, 50000, GET)).isEqualTo(
        new InboundGate.Refused(503, "no inbound policy for port 9080 from mesh-control"));
  }

  @Test
  void anEntryIsRemovedOnlyByItsOwnConnection() {
    table.put(relay(peer(false)));
    table.put(relay(peer(true)));

    table.remove(relay(peer(false)));

    assertThat(table.peer(LOOPBACK, 50000)).contains(peer(true));
  }

  @Test
  void anAdmittedRequestIsInFlightOnItsConnectionUntilItCompletes() {
    long[] now = {0};
    DoorConnection tracked = new DoorConnection(new Socket(), LOOPBACK, () -> now[0]);
    mode(MtlsMode.PERMISSIVE);
    table.put(new ConnectionTable.Relay(BACKEND_SIDE, peer(false), tracked));

    InboundGate.Admitted admitted = (InboundGate.Admitted) gate.admit(LOOPBACK, 50000, GET);
    now[0] += Duration.ofHours(1).toNanos();
    assertThat(tracked.overdue(DoorConfig.defaults())).as("a slow handler keeps its connection").isEmpty();
    admitted.complete(200);
    admitted.abandoned();
    now[0] += DoorConfig.defaults().idleTimeout().toNanos();

    assertThat(tracked.overdue(DoorConfig.defaults())).contains(DoorConnection.Timeout.IDLE);
  }

  @Test
  void aRefusedRequestLeavesNothingInFlight() {
    long[] now = {0};
    DoorConnection tracked = new DoorConnection(new Socket(), LOOPBACK, () -> now[0]);
    mode(MtlsMode.STRICT);
    table.put(new ConnectionTable.Relay(BACKEND_SIDE, peer(false), tracked));

    assertThat(gate.admit(LOOPBACK, 50000, GET)).isInstanceOf(InboundGate.Refused.class);
    now[0] += DoorConfig.defaults().idleTimeout().toNanos();

    assertThat(tracked.overdue(DoorConfig.defaults())).contains(DoorConnection.Timeout.IDLE);
  }
}
