package dev.inmesh.http.server;

import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.spi.InboundDoor;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.tracing.TraceContext;
import java.util.Optional;
import java.util.function.Function;

/**
 * One request an inbound adapter lets through: the caller's {@link PeerMetadata}, its server span
 * (current on the handler's thread while {@link #attach() attached}), then, at {@link #complete},
 * Istio's metrics, the span's tags and end, and the access log line, all on the request's
 * {@link CallRecorder.Call}.
 */
final class ServedRequest {
  private final InboundDoor door;
  private final InboundGate.Admitted admitted;
  private final RequestHead head;
  private final Function<String, String> requestHeader;
  private final CallRecorder.Call call;
  private final Optional<PeerMetadata> caller;

  /** @param requestHeader a request header by lower-case name, null when absent */
  ServedRequest(InboundDoor door, InboundGate.Admitted admitted, RequestHead head, Function<String, String> requestHeader) {
    this.door = door;
    this.admitted = admitted;
    this.head = head;
    this.requestHeader = requestHeader;
    this.call = admitted.call().traceServer(door.operation(), TraceContext.fromHeaders(requestHeader));
    this.caller = PeerMetadata.decode(requestHeader.apply(PeerMetadata.HEADER));
  }

  /**
   * This workload's metadata for the response's {@value PeerMetadata#HEADER} header, when the
   * caller sent its own (a mesh peer, which reads it); empty otherwise, as Istio's sidecars do.
   */
  Optional<String> answerMetadata() {
    return caller.map(peer -> door.peerMetadata());
  }

  TraceContext.Scope attach() {
    return call.attach();
  }

  void failed(Throwable error) {
    call.failed(error);
  }

  /**
   * @param requestBytes the request body's size, negative when unknown
   * @param responseHeader a response header by name, null when absent
   */
  void complete(String protocol, int status, long requestBytes, long responseBytes, Function<String, String> responseHeader) {
    admitted.complete(caller, status, requestBytes, responseBytes);
    call.span().ifPresent(span -> span.http(head.method(), "http://" + head.host() + head.path(), status, "-"));
    call.end();
    PeerInfo peer = admitted.peer();
    call.log(new CallRecorder.LogLine(protocol, status, "-", Math.max(0, requestBytes), Math.max(0, responseBytes), null,
        peer.source().getAddress().getHostAddress() + ":" + peer.source().getPort(),
        peer.principal().map(Object::toString).orElse(null),
        name -> switch (name) {
          case ":method" -> head.method();
          case ":path" -> head.path();
          case ":authority" -> head.host();
          default -> requestHeader.apply(name);
        },
        responseHeader));
  }
}
