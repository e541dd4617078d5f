package dev.inmesh.gateway.internal;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.authz.AuthzDecision;
import dev.inmesh.internal.security.authz.AuthzRequest;
import dev.inmesh.internal.security.jwt.JwtOutcome;
import dev.inmesh.internal.telemetry.AuthorizationLog;
import dev.inmesh.internal.xds.GatewayListenerParser;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.spi.RequestHeaderChanges;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check every gateway request passes before it goes into the mesh, on the worker thread, as
 * {@code DoorGate} decides for a workload's door: the end user's JWT is verified first
 * (RequestAuthentication; an invalid token gets 401 with Envoy's reason and a
 * {@code www-authenticate} challenge), then the gateway's AuthorizationPolicies are evaluated with
 * the verified token (403 {@code RBAC: access denied}); AUDIT and dry-run policies write their
 * lines to the {@link AuthorizationLog}. A request that passes carries the header changes
 * authentication asks for (the token taken off, its payload added).
 */
final class RequestCheck {
  private static final Logger log = LoggerFactory.getLogger(RequestCheck.class);

  /** What the check decided. */
  sealed interface Verdict {}

  /** Let through, with these changes to the headers forwarded into the mesh. */
  record Pass(RequestHeaderChanges headerChanges) implements Verdict {}

  /** Answered at the gateway. */
  record Refuse(Forwarder.Answer answer) implements Verdict {}

  private final Supplier<Map<String, ListenerConfig>> listeners;
  private final Clock clock;
  private final AuthorizationLog authorizationLog = AuthorizationLog.defaults();

  /** @param listeners the listeners of the mesh's current snapshot, by name */
  RequestCheck(Supplier<Map<String, ListenerConfig>> listeners, Clock clock) {
    this.listeners = Objects.requireNonNull(listeners, "listeners");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  Verdict check(Forwarder.Incoming request) {
    // the policies in force now, not those of when the connection was accepted: a kept-alive client gets a change at once
    Optional<GatewayListener.Server> server = server(request.gatewayPort(), request.routeConfigName());
    if (server.isEmpty()) {
      // the server's listener is gone or changed under this connection: no policy to decide by, so fail closed
      return new Refuse(Forwarder.Answer.flagged(503, "no listener for gateway port " + request.gatewayPort()
          + " serves routes " + request.routeConfigName() + " any more", "NR"));
    }
    RequestHead head = head(request);
    JwtOutcome authenticated = server.get().authentication().authenticate(head, clock);
    if (authenticated instanceof JwtOutcome.Rejected rejected) {
      log.debug("gateway port {} rejected the end-user token of {} {} from {}: {}", request.gatewayPort(),
          request.method(), request.uri(), request.peer().source(), rejected.reason());
      return new Refuse(new Forwarder.Answer(401, List.of(Map.entry("content-type", "text/plain"),
          Map.entry("www-authenticate", rejected.challenge(request.scheme(), head.host(), head.path()))),
          RequestHandler.text(rejected.reason())));
    }
    AuthzRequest authz = head.toAuthzRequest(request.peer(), request.gatewayPort(), authenticated.jwt());
    AuthorizationEngine engine = server.get().authorization();
    AuthzDecision decision = engine.evaluate(authz);
    // AUDIT and dry-run policies decide nothing: their outcome is logged, as at a workload's door
    Optional<String> audit = engine.auditPolicy(authz);
    Optional<AuthzDecision> shadow = engine.evaluateShadow(authz);
    if (audit.isPresent() || shadow.isPresent()) {
      AuthorizationLog.Request logged = new AuthorizationLog.Request(request.method(), head.path(), request.gatewayPort(),
          request.peer().principal().map(Object::toString).orElse("plaintext " + request.peer().source()));
      audit.ifPresent(name -> authorizationLog.audit(name, logged, decision));
      shadow.ifPresent(would -> authorizationLog.dryRun(logged, would));
    }
    if (decision instanceof AuthzDecision.Denied denied) {
      log.debug("gateway port {} denied {} {} from {}: {}", request.gatewayPort(), request.method(), request.uri(),
          request.peer().principal().map(Object::toString).orElse(request.peer().source().toString()),
          denied.policyOrReason());
      return new Refuse(Forwarder.Answer.local(403, InboundGate.RBAC_DENIED_BODY));
    }
    return new Pass(authenticated.headerChanges());
  }

  private Optional<GatewayListener.Server> server(int gatewayPort, String routeConfigName) {
    ListenerConfig listener = listeners.get().get(GatewayListenerParser.PREFIX + gatewayPort);
    if (listener == null || listener.gateway().isEmpty()) {
      return Optional.empty();
    }
    return listener.gateway().get().servers().stream().filter(s -> s.routeConfigName().equals(routeConfigName)).findFirst();
  }

  private static RequestHead head(Forwarder.Incoming request) {
    String host = request.header("host");
    return new RequestHead(request.method(), host == null ? "" : host, request.uri(), name -> {
      List<String> values = new ArrayList<>();
      for (Map.Entry<String, String> header : request.headers()) {
        if (header.getKey().equalsIgnoreCase(name)) {
          values.add(header.getValue());
        }
      }
      return values;
    });
  }

  /** The peer as a gateway's RBAC sees it: a SPIFFE principal only from a verified MUTUAL client certificate. */
  static PeerInfo peer(InetSocketAddress source, InetSocketAddress destination, Optional<SpiffeId> principal) {
    return new PeerInfo(source, destination, principal.isPresent() ? PeerInfo.Security.MUTUAL_TLS : PeerInfo.Security.NONE,
        principal, Optional.empty());
  }
}
