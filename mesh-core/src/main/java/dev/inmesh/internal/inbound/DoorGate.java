package dev.inmesh.internal.inbound;

import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.security.authz.AuthzDecision;
import dev.inmesh.internal.security.authz.AuthzRequest;
import dev.inmesh.internal.security.jwt.JwtOutcome;
import dev.inmesh.internal.telemetry.AuthorizationLog;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.spi.RequestHeaderChanges;
import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link InboundGate} of one door: decides each request that reaches the server behind it, for
 * every server adapter alike. It also tells the door's connection when a request is in flight on
 * it, which keeps the door's idle timeout off that connection.
 */
public final class DoorGate implements InboundGate {
  private static final Logger log = LoggerFactory.getLogger(DoorGate.class);

  private final int port;
  private final ConnectionTable connections;
  private final IntFunction<Optional<InboundPolicy>> policies;
  private final InboundMetrics metrics;
  private final RateLimitedLog refusals;
  private final AuthorizationLog authorizationLog = AuthorizationLog.defaults();
  private final java.time.Clock clock;

  public DoorGate(int port, ConnectionTable connections, IntFunction<Optional<InboundPolicy>> policies,
      InboundMetrics metrics, java.time.Clock logClock) {
    this.port = port;
    this.connections = connections;
    this.policies = policies;
    this.metrics = metrics;
    this.refusals = new RateLimitedLog(log, logClock, java.time.Duration.ofMinutes(1));
    this.clock = logClock;
  }

  /** What the gate decided for a request it lets through: the headers the application must see changed. */
  private sealed interface Decision {}

  private record Pass(RequestHeaderChanges headerChanges) implements Decision {}

  private record Stop(Refused refused) implements Decision {}

  /** A request let through: in flight on its connection until completed or abandoned. */
  private final class Admission implements Admitted {
    private final PeerInfo peer;
    private final DoorConnection connection;
    private final CallRecorder.Call call;
    private final RequestHeaderChanges headerChanges;
    private final AtomicBoolean ended = new AtomicBoolean();

    private Admission(PeerInfo peer, DoorConnection connection, CallRecorder.Call call,
        RequestHeaderChanges headerChanges) {
      this.peer = peer;
      this.connection = connection;
      this.call = call;
      this.headerChanges = headerChanges;
    }

    @Override
    public RequestHeaderChanges headerChanges() {
      return headerChanges;
    }

    @Override
    public CallRecorder.Call call() {
      return call;
    }

    @Override
    public PeerInfo peer() {
      return peer;
    }

    @Override
    public void complete(int responseCode) {
      end();
      metrics.request(call, Optional.of(peer), Optional.empty(), responseCode, Optional.empty(), "-", -1, -1);
    }

    @Override
    public void complete(Optional<PeerMetadata> caller, int responseCode, long requestBytes, long responseBytes) {
      end();
      metrics.request(call, Optional.of(peer), caller, responseCode, Optional.empty(), "-", requestBytes, responseBytes);
    }

    @Override
    public void completeGrpc(Optional<PeerMetadata> caller, int grpcStatus) {
      end();
      metrics.request(call, Optional.of(peer), caller, 200, Optional.of(grpcStatus), "-", -1, -1);
    }

    @Override
    public void abandoned() {
      end();
    }

    private void end() {
      if (ended.compareAndSet(false, true)) {
        connection.requestEnded();
      }
    }
  }

  @Override
  public Verdict admit(InetAddress remoteAddress, int remotePort, RequestHead head) {
    CallRecorder.Call call = metrics.start();
    Optional<ConnectionTable.Relay> relay = connections.relay(remoteAddress, remotePort);
    Optional<PeerInfo> found = relay.map(ConnectionTable.Relay::peer);
    if (found.isEmpty()) {
      refusals.log("unknown-peer", "port " + port + ": refused " + head.method() + " " + head.path() + " from "
          + remoteAddress.getHostAddress() + ":" + remotePort + ", which did not come through the inbound door;"
          + " the server behind the door must listen on loopback only");
      return refuse(Optional.empty(), 403, RBAC_DENIED_BODY, "RBAC", call);
    }
    PeerInfo peer = found.get();
    DoorConnection connection = relay.get().connection();
    connection.requestStarted();
    Decision decision = decide(peer, head, call);
    if (decision instanceof Stop stop) {
      connection.requestEnded();
      return stop.refused();
    }
    return new Admission(peer, connection, call, ((Pass) decision).headerChanges());
  }

  /** Whether a request on a connection that came through the door may be served, and how it must look then. */
  private Decision decide(PeerInfo peer, RequestHead head, CallRecorder.Call call) {
    Optional<PeerInfo> found = Optional.of(peer);
    Optional<InboundPolicy> current = policies.apply(port);
    if (current.isEmpty()) {
      refusals.log(RefusalReason.NO_POLICY, "no inbound policy for port " + port + " from mesh-control any more;"
          + " refusing requests until it arrives");
      return new Stop(refuse(found, 503, "no inbound policy for port " + port + " from mesh-control", "NR", call));
    }
    InboundPolicy policy = current.get();
    boolean transportAccepted = peer.isMutualTls() ? policy.mode().acceptsTls() : policy.mode().acceptsPlaintext();
    if (!transportAccepted) {
      // the mode changed after the connection was accepted: Envoy would drain it; refuse what it carries
      refusals.log("transport-" + policy.mode(), "port " + port + " is " + policy.mode() + " now (listener "
          + policy.listener() + "): refused a request on a " + peer.security().istioName() + " connection from "
          + peer.source() + " accepted under the previous mode");
      return new Stop(refuse(found, 403, RBAC_DENIED_BODY, "RBAC", call));
    }
    // end-user authentication (RequestAuthentication) before authorization, as Istio orders Envoy's filters
    JwtOutcome authenticated = policy.authentication().authenticate(head, clock);
    if (authenticated instanceof JwtOutcome.Rejected rejected) {
      log.debug("port {} (listener {}) rejected the end-user token of {} {} from {}: {}", port, policy.listener(),
          head.method(), head.path(), peer.source(), rejected.reason());
      metrics.request(call, found, Optional.empty(), 401, Optional.empty(), "-", -1, -1);
      return new Stop(new Refused(401, rejected.reason(), Map.of("www-authenticate",
          rejected.challenge(peer.isMutualTls() ? "https" : "http", head.host(), head.path()))));
    }
    AuthzRequest request = head.withHeaderChanges(authenticated.headerChanges()).toAuthzRequest(peer, port, authenticated.jwt());
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
      return new Stop(refuse(found, 403, RBAC_DENIED_BODY, "RBAC", call));
    }
    return new Pass(authenticated.headerChanges());
  }

  private Refused refuse(Optional<PeerInfo> peer, int status, String body, String flags, CallRecorder.Call call) {
    metrics.request(call, peer, Optional.empty(), status, Optional.empty(), flags, -1, -1);
    return new Refused(status, body);
  }
}
