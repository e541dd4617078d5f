package dev.inmesh.internal.inbound;

import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.CallRecorder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The inbound meters: Istio's request metrics through the door's {@link CallRecorder} (reporter
 * destination), and the door's own counters ({@code inmesh.inbound.connections}).
 *
 * <p>The caller's workload labels come from its {@link PeerMetadata} only when its certificate
 * vouches for it; labels are bounded as {@link IstioMetrics} bounds them.
 */
public final class InboundMetrics {
  public static final String REQUESTS = IstioMetrics.REQUESTS;
  public static final String REQUEST_DURATION = IstioMetrics.REQUEST_DURATION;
  public static final String CONNECTIONS = "inmesh.inbound.connections";
  public static final String ACTIVE_CONNECTIONS = "inmesh.inbound.connections.active";
  public static final String CLOSED_CONNECTIONS = "inmesh.inbound.connections.closed";
  public static final String OPEN_CONNECTIONS = "inmesh.inbound.connections.open";
  /** Envoy's RBAC stats {@code shadow_allowed} and {@code shadow_denied}: what dry-run policies would have decided. */
  public static final String SHADOW_ALLOWED = "inmesh.authz.shadow.allowed";
  public static final String SHADOW_DENIED = "inmesh.authz.shadow.denied";

  private final MeterRegistry registry;
  private final CallRecorder recorder;
  private final String protocol;

  /**
   * @param recorder the door's request telemetry, bound to the registry the door's own meters go to
   * @param protocol Istio's {@code request_protocol} of what the server behind the door speaks: {@code http} or {@code grpc}
   */
  public InboundMetrics(CallRecorder recorder, String protocol) {
    this.registry = recorder.registry();
    this.recorder = recorder;
    this.protocol = protocol;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The record of a request that has just reached the server behind the door; its span, if any, the adapter opens. */
  public CallRecorder.Call start() {
    return recorder.startUntraced();
  }

  /**
   * One request answered on this workload, timed from {@code call}'s start.
   *
   * @param peer the connection's peer; empty when the request did not come through the door
   * @param caller the caller's {@link PeerMetadata}, when it sent it
   * @param grpcStatus the call's status when it was a gRPC call (then {@code responseCode} is 200)
   * @param responseFlags Envoy's response flags: {@code -} for none, {@code RBAC} when denied
   * @param requestBytes the request body's size, negative when unknown
   * @param responseBytes the response body's size, negative when unknown
   */
  public void request(CallRecorder.Call call, Optional<PeerInfo> peer, Optional<PeerMetadata> caller, int responseCode,
      Optional<Integer> grpcStatus, String responseFlags, long requestBytes, long responseBytes) {
    call.served(peer.flatMap(PeerInfo::principal), peer.map(p -> p.security().istioName()).orElse(IstioMetrics.UNKNOWN),
        caller, new CallRecorder.Response(protocol, responseCode, grpcStatus, responseFlags, requestBytes, responseBytes));
  }

  /** The dry-run ({@code istio.io/dry-run}) policies of {@code port} would have allowed or denied a request. */
  public void shadow(int port, boolean allowed) {
    Counter.builder(allowed ? SHADOW_ALLOWED : SHADOW_DENIED)
        .description("Requests that the dry-run authorization policies of an inbound port would have "
            + (allowed ? "allowed" : "denied") + "; they were not held to them")
        .baseUnit("requests")
        .tag("port", Integer.toString(port))
        .register(registry)
        .increment();
  }

  public void connectionAccepted(int port, PeerInfo.Security security) {
    connections(port, security.istioName(), "accepted");
  }

  public void connectionRefused(int port, RefusalReason reason) {
    connections(port, "refused", reason.tag());
  }

  /** The door closed a connection it had accepted, for {@code reason}: {@code header_timeout}, {@code idle_timeout}. */
  public void connectionClosed(int port, String reason) {
    Counter.builder(CLOSED_CONNECTIONS)
        .description("Connections the door on an inbound port closed for a timeout, with the reason")
        .baseUnit("connections")
        .tags("port", Integer.toString(port), "reason", reason)
        .register(registry)
        .increment();
  }

  /** A gauge of the door's live relays; removed with the door. */
  public Gauge activeConnections(int port, Supplier<Number> count) {
    return Gauge.builder(ACTIVE_CONNECTIONS, count)
        .description("Connections the door is relaying now")
        .baseUnit("connections")
        .tag("port", Integer.toString(port))
        .register(registry);
  }

  /** A gauge of the connections the door holds, relayed or not yet (against its limits); removed with the door. */
  public Gauge openConnections(int port, Supplier<Number> count) {
    return Gauge.builder(OPEN_CONNECTIONS, count)
        .description("Connections the door holds now, relayed or still before their first request head")
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
}
