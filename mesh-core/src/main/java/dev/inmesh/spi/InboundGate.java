package dev.inmesh.spi;

import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.telemetry.PeerMetadata;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * What a server adapter asks for each request that reaches the server behind the door: serve it
 * ({@link Admitted}) or answer for the mesh ({@link Refused}). The gate finds the peer the door
 * recorded, checks that the connection's transport is still one the port's current policy
 * accepts, verifies the end user's JWT (RequestAuthentication; an invalid one is refused with 401
 * and Envoy's reason), evaluates the AuthorizationPolicy, and records Istio's request metrics once the adapter
 * reports the response. Anything it cannot place is refused.
 */
public interface InboundGate {
  /** Envoy's body for a request its RBAC filter denies, byte for byte. */
  String RBAC_DENIED_BODY = "RBAC: access denied";

  /**
   * @param remoteAddress the request's remote address as the backend sees it
   * @param remotePort the request's remote port as the backend sees it: the door's key
   */
  Verdict admit(InetAddress remoteAddress, int remotePort, RequestHead head);

  /** The outcome for one request; an {@link Admitted} one must be {@linkplain Admitted#complete completed}. */
  sealed interface Verdict permits Admitted, Refused {}

  /**
   * Serve the request; hand {@link #peer} to the handler. Until one of its {@code complete}
   * methods or {@link #abandoned()} is called, the request counts as in flight on its connection
   * (which keeps the door's idle timeout off it). Completing twice records once.
   */
  non-sealed interface Admitted extends Verdict {
    PeerInfo peer();

    /**
     * The headers the handler must see changed: a verified token taken off
     * ({@code forwardOriginalToken: false}), its payload or claims added. The adapter applies them
     * to the request it hands on.
     */
    default RequestHeaderChanges headerChanges() {
      return RequestHeaderChanges.NONE;
    }

    /** The request's telemetry handle: the adapter opens its server span and writes its access log line on it. */
    CallRecorder.Call call();

    /** Records the request with the status the handler answered. */
    void complete(int responseCode);

    /** Records the request of a caller that sent its {@link PeerMetadata}, with its body sizes (negative: unknown). */
    void complete(Optional<PeerMetadata> caller, int responseCode, long requestBytes, long responseBytes);

    /** Records a gRPC call of a caller that sent its {@link PeerMetadata}: HTTP 200 and the call's status code, as Istio reports gRPC. */
    void completeGrpc(Optional<PeerMetadata> caller, int grpcStatus);

    /** The caller went away before an answer (a cancelled gRPC call): not recorded, no longer in flight. */
    void abandoned();
  }

  /**
   * Answer {@code status} with {@code body} (text/plain) and {@code headers}, and do not call the
   * handler. A 401 of end-user authentication carries Envoy's {@code www-authenticate}.
   */
  record Refused(int status, String body, java.util.Map<String, String> headers) implements Verdict {
    public Refused {
      Objects.requireNonNull(body, "body");
      headers = java.util.Map.copyOf(headers);
    }

    /** A refusal without headers of its own. */
    public Refused(int status, String body) {
      this(status, body, java.util.Map.of());
    }
  }
}
