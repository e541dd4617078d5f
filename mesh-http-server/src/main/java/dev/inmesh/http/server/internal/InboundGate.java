package dev.inmesh.http.server.internal;

import dev.inmesh.http.server.PeerInfo;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.security.authz.AuthzDecision;
import dev.inmesh.security.authz.AuthzRequest;
import dev.inmesh.telemetry.AuthorizationLog;
import dev.inmesh.telemetry.PeerMetadata;
import io.micrometer.core.instrument.Clock;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides each request that reaches the server behind the door, for every server adapter alike:
 * finds the peer the door recorded, checks that the connection's transport is still one the
 * port's current policy accepts, evaluates the AuthorizationPolicy, and records Istio's request
 * metrics once the adapter reports the response code. Anything it cannot place is refused. It also
 * tells the door's connection when a request is in flight on it, which keeps the door's idle
 * timeout off that connection.
 */
public final class InboundGate {
  /** Envoy's body for a request its RBAC filter denies, byte for byte. */
  public static final String RBAC_DENIED_BODY = "RBAC: access denied";
  private static final Logger log = LoggerFactory.getLogger(InboundGate.class);

  private final int port;
  private final ConnectionTable connections;
  private final IntFunction<Optional<InboundPolicy>> policies;
  private final InboundMetrics metrics;
  private final Clock clock;
  private final RateLimitedLog refusals;
  private final AuthorizationLog authorizationLog = AuthorizationLog.defaults();

  public InboundGate(int port, ConnectionTable connections, IntFunction<Optional<InboundPolicy>> policies,
      InboundMetrics metrics, java.time.Clock logClock) {
    this.port = port;
    this.connections = connections;
    this.policies = policies;
    this.metrics = metrics;
    this.clock = metrics.registry().config().clock();
    this.refusals = new RateLimitedLog(log, logClock, java.time.Duration.ofMinutes(1));
  }

  /** The outcome for one request; an {@link Admitted} one must be {@linkplain Admitted#complete completed}. */
  public sealed interface Verdict {}

  /**
   * Serve the request; hand {@link #peer} to the handler. Until one of its {@code complete}
   * methods or {@link #abandoned()} is called, the request counts as in flight on its connection.
   */
  public final class Admitted implements Verdict {
    private final PeerInfo peer;
    private final DoorConnection connection;
    private final long start;
    private final AtomicBoolean ended = new AtomicBoolean();

    private Admitted(PeerInfo peer, DoorConnection connection, long start) {
      this.peer = peer;
      this.connection = connection;
      this.start = start;
    }

    public PeerInfo peer() {
      return peer;
    }

    /** Records the request with the status the handler answered. */
    public void complete(int responseCode) {
      end();
      metrics.request(Optional.of(peer), responseCode, "-", millisSince(start));
    }

    /** Records the request with its body sizes (negative: unknown). */
    public void complete(int responseCode, long requestBytes, long responseBytes) {
      complete(Optional.empty(), responseCode, requestBytes, responseBytes);
    }

    /** Records the request of a caller that sent its {@link PeerMetadata}, with its body sizes (negative: unknown). */
    public void complete(Optional<PeerMetadata> caller, int responseCode, long requestBytes, long responseBytes) {
      end();
      metrics.request(Optional.of(peer), caller, responseCode, Optional.empty(), "-", millisSince(start), requestBytes,
          responseBytes);
    }

    /** Records a gRPC call: HTTP 200 and the call's status code, as Istio reports gRPC. */
    public void completeGrpc(int grpcStatus) {
      completeGrpc(Optional.empty(), grpcStatus);
    }

    /** Records a gRPC call of a caller that sent its {@link PeerMetadata}. */
    public void completeGrpc(Optional<PeerMetadata> caller, int grpcStatus) {
      end();
      metrics.request(Optional.of(peer), caller, 200, Optional.of(grpcStatus), "-", millisSince(start), -1, -1);
    }

    /** The caller went away before an answer (a cancelled gRPC call): not recorded, no longer in flight. */
    public void abandoned() {
      end();
    }

    private void end() {
      if (ended.compareAndSet(false, true)) {
        connection.requestEnded();
      }
    }
  }

  /** Answer {@code status} with {@code body} (text/plain) and do not call the handler. */
  public record Refused(int status, String body) implements Verdict {
    public Refused {
      Objects.requireNonNull(body, "body");
    }
  }

  /**
   * @param remoteAddress the request's remote address as the backend sees it
   * @param remotePort the request's remote port as the backend sees it: the door's key
   */
  public Verdict admit(InetAddress remoteAddress, int remotePort, RequestHead head) {
    long start = clock.monotonicTime();
    Optional<ConnectionTable.Relay> relay = connections.relay(remoteAddress, remotePort);
    Optional<PeerInfo> found = relay.map(ConnectionTable.Relay::peer);
    if (found.isEmpty()) {
      refusals.log("unknown-peer", "port " + port + ": refused " + head.method() + " " + head.path() + " from "
          + remoteAddress.getHostAddress() + ":" + remotePort + ", which did not come through the inbound door;"
          + " the server behind the door must listen on loopback only");
      return refuse(Optional.empty(), 403, RBAC_DENIED_BODY, "RBAC", start);
    }
    PeerInfo peer = found.get();
    DoorConnection connection = relay.get().connection();
    connection.requestStarted();
    Optional<Refused> refused = refusal(peer, head, start);
    if (refused.isPresent()) {
      connection.requestEnded();
      return refused.get();
    }
    return new Admitted(peer, connection, start);
  }

  /** Why a request on a connection that came through the door may not be served, if it may not. */
  private Optional<Refused> refusal(PeerInfo peer, RequestHead head, long start) {
    Optional<PeerInfo> found = Optional.of(peer);
    Optional<InboundPolicy> current = policies.apply(port);
    if (current.isEmpty()) {
      refusals.log(RefusalReason.NO_POLICY, "no inbound policy for port " + port + " from mesh-control any more;"
          + " refusing requests until it arrives");
      return Optional.of(refuse(found, 503, "no inbound policy for port " + port + " from mesh-control", "NR", start));
    }
    InboundPolicy policy = current.get();
    boolean transportAccepted = peer.isMutualTls() ? policy.mode().acceptsTls() : policy.mode().acceptsPlaintext();
    if (!transportAccepted) {
      // the mode changed after the connection was accepted: Envoy would drain it; refuse what it carries
      refusals.log("transport-" + policy.mode(), "port " + port + " is " + policy.mode() + " now (listener "
          + policy.listener() + "): refused a request on a " + peer.security().istioName() + " connection from "
          + peer.source() + " accepted under the previous mode");
      return Optional.of(refuse(found, 403, RBAC_DENIED_BODY, "RBAC", start));
    }
    AuthzRequest request = head.toAuthzRequest(peer, port);
    AuthzDecision decision = policy.authorization().evaluate(request);
    // AUDIT and dry-run policies decide nothing: their outcome is logged (and dry-run counted), as Envoy's RBAC does
    Optional<String> audit = policy.authorization().auditPolicy(request);
    Optional<AuthzDecision> shadow = policy.authorization().evaluateShadow(request);
    if (audit.isPresent() || shadow.isPresent()) {
      AuthorizationLog.Request logged = new AuthorizationLog.Request(head.method(), head.path(), port,
          peer.principal().map(Object::toString).orElse("plaintext " + peer.source()));
      audit.ifPresent(name -> authorizationLog.audit(name, logged, decision));
      shadow.ifPresent(would -> {
        metrics.shadow(port, would.isAllowed());
        authorizationLog.dryRun(logged, would);
      });
    }
    if (decision instanceof AuthzDecision.Denied denied) {
      log.debug("port {} (listener {}) denied {} {} from {}: {}", port, policy.listener(), head.method(), head.path(),
          peer.principal().map(Object::toString).orElse("plaintext " + peer.source()), denied.policyOrReason());
      return Optional.of(refuse(found, 403, RBAC_DENIED_BODY, "RBAC", start));
    }
    return Optional.empty();
  }

  private Refused refuse(Optional<PeerInfo> peer, int status, String body, String flags, long start) {
    metrics.request(peer, status, flags, millisSince(start));
    return new Refused(status, body);
  }

  private double millisSince(long start) {
    return (clock.monotonicTime() - start) / 1_000_000.0;
  }
}
