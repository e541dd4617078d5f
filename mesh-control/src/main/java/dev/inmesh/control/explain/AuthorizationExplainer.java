package dev.inmesh.control.explain;

import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.xds.ClientStatus;
import dev.inmesh.control.xds.XdsServer;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.security.authz.AuthzDecision;
import dev.inmesh.internal.security.authz.AuthzRequest;
import dev.inmesh.internal.security.authz.Policy;
import dev.inmesh.internal.security.authz.RbacEngine;
import dev.inmesh.internal.xds.XdsResources;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The destination's side of an explanation: for each endpoint the request may go to, what the
 * workload serving it decides, with the engine its server runs ({@link
 * dev.inmesh.internal.security.authz.AuthorizationEngine}) over the server listener it holds (the version
 * it ACKed). So the explanation cannot drift from the enforcement: DENY policies first and any
 * match refuses, then every ALLOW policy must match, no policy allows; AUDIT and dry-run
 * policies decide nothing and are reported as notes.
 *
 * <p>The transport is the caller's own: mutual TLS where its cluster asks for it to that
 * endpoint, and only then does the server see a principal.
 */
public final class AuthorizationExplainer {
  /** At most this many endpoints are evaluated per explanation. */
  static final int MAX_ENDPOINTS = 16;
  /** gRFC A36's server listener name, as mesh-control names one per workload address and port. */
  static final String SERVER_LISTENER = "grpc/server?xds.resource.listening_address=";
  private static final Pattern ISTIO_POLICY = Pattern.compile("ns\\[([^\\]]*)]-policy\\[([^\\]]*)]-rule\\[(\\d+)]");

  private AuthorizationExplainer() {}

  /**
   * Who serves an endpoint and what it holds for that port.
   *
   * @param node the workload's node id
   * @param policy its server listener for the port, read by the servers' own parser; empty when not known
   * @param listener the server listener's name
   * @param unknown why {@code policy} is empty
   */
  public record Destination(String node, Optional<InboundPolicy> policy, String listener, String unknown) {}

  /** Finds the workload that serves an endpoint; empty when no registered workload does. */
  @FunctionalInterface
  public interface Destinations {
    Optional<Destination> serving(Endpoint endpoint);
  }

  /** The registered workloads, each with the server listener it ACKed (its client's config on {@code xds}). */
  public static Destinations of(List<Workload> workloads, XdsServer xds) {
    return endpoint -> workloads.stream()
        .filter(w -> w.metadata().address().equals(endpoint.address())
            && w.metadata().ports().stream().anyMatch(p -> p.targetPort() == endpoint.port()))
        .findFirst()
        .map(workload -> {
          String listener = SERVER_LISTENER + endpoint.address() + ":" + endpoint.port();
          Optional<ClientStatus> client = xds.clients().stream().filter(c -> c.nodeId().equals(workload.nodeId()))
              .max(Comparator.comparingLong(ClientStatus::streamId));
          if (client.isEmpty()) {
            return new Destination(workload.nodeId(), Optional.empty(), listener, "workload " + workload.nodeId()
                + " is registered but not connected, so what it enforces is not known");
          }
          try {
            Optional<InboundPolicy> held = xds.held(client.get()).serverListener(listener);
            return new Destination(workload.nodeId(), held, listener, held.isPresent() ? ""
                : "workload " + workload.nodeId() + " holds no listener " + listener + " (yet)");
          } catch (IllegalStateException e) {
            return new Destination(workload.nodeId(), Optional.empty(), listener, e.getMessage());
          }
        });
  }

  /** {@code cluster.local/ns/default/sa/sleep}, as Istio's policies write principals, or a SPIFFE URI → the URI. */
  public static String principal(String given) {
    String value = given.strip();
    if (!value.matches("(spiffe://)?[^/\\s]+/ns/[^/\\s]+/sa/[^/\\s]+")) {
      throw new IllegalArgumentException("a principal is <trust-domain>/ns/<namespace>/sa/<service-account> or that"
          + " as a spiffe:// URI, got '" + given + "'");
    }
    return value.startsWith("spiffe://") ? value : "spiffe://" + value;
  }

  /**
   * @param caller what the calling client holds: its clusters say which endpoints, and over which transport
   * @param identity the caller's SPIFFE ID, sent where the transport is mutual TLS
   * @param source the caller's address, as the server sees it
   */
  public static List<RequestExplanation.Authorization> explain(XdsResources caller, RequestExplanation routing,
      ExplainRequest request, Optional<String> identity, InetAddress source, Destinations destinations) {
    List<RequestExplanation.Authorization> decisions = new ArrayList<>();
    Set<String> seen = new LinkedHashSet<>();
    for (RequestExplanation.ClusterChoice choice : routing.clusters()) {
      ClusterConfig cluster = caller.clusters().get(choice.cluster());
      if (cluster == null) {
        continue;
      }
      for (Endpoint endpoint : caller.endpoints().getOrDefault(cluster.edsServiceName(), List.of())) {
        if (seen.size() == MAX_ENDPOINTS) {
          break;
        }
        if (seen.add(endpoint.hostPort())) {
          boolean tls = cluster.tls().filter(t -> t.scope() == UpstreamTls.Scope.EVERY_ENDPOINT || endpoint.meshTls())
              .isPresent();
          decisions.add(decide(endpoint, tls, tls ? identity : Optional.empty(), request, source,
              destinations.serving(endpoint)));
        }
      }
    }
    return decisions;
  }

  private static RequestExplanation.Authorization decide(Endpoint endpoint, boolean tls, Optional<String> principal,
      ExplainRequest request, InetAddress source, Optional<Destination> destination) {
    String at = endpoint.hostPort();
    if (destination.isEmpty()) {
      return unknown(at, at, Optional.empty(), principal, "no registered workload serves " + at
          + ", so mesh-control does not know its authorization");
    }
    Destination serving = destination.get();
    if (serving.policy().isEmpty()) {
      return unknown(serving.node(), at, Optional.of(serving.listener()), principal, serving.unknown());
    }
    InboundPolicy inbound = serving.policy().get();
    Optional<String> mode = Optional.of(inbound.mode().name());
    if (!tls && !inbound.mode().acceptsPlaintext()) {
      return new RequestExplanation.Authorization(serving.node(), at, Optional.of(inbound.listener()), mode, principal,
          "denied", "the port takes mutual TLS only (STRICT) and this client connects in plaintext: the connection is"
          + " refused before any policy", Optional.empty(), List.of());
    }
    if (tls && !inbound.mode().acceptsTls()) {
      return new RequestExplanation.Authorization(serving.node(), at, Optional.of(inbound.listener()), mode, principal,
          "denied", "the port takes plaintext only (DISABLE) and this client speaks mutual TLS: the handshake fails",
          Optional.empty(), List.of());
    }
    AuthzRequest authz = new AuthzRequest(principal, source, literal(endpoint.address()).orElse(InetAddress.getLoopbackAddress()),
        endpoint.port(), request.method(), authority(request), pathAndQuery(request), request::header, Optional.empty());
    AuthzDecision decision = inbound.authorization().evaluate(authz);
    List<String> notes = new ArrayList<>();
    String detail;
    Optional<String> policy = Optional.empty();
    if (decision instanceof AuthzDecision.Allowed allowed) {
      policy = allowed.matchedPolicy();
      boolean deciding = inbound.authorization().engines().stream().anyMatch(e -> e.action() != RbacEngine.Action.LOG);
      detail = allowed.matchedPolicy().map(p -> "allowed by ALLOW policy " + describe(p))
          .orElse(deciding ? "allowed: no DENY policy matched and no ALLOW policy applies" : "no policy: allowed");
    } else {
      String reason = ((AuthzDecision.Denied) decision).policyOrReason();
      if (reason.equals(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED)) {
        detail = "allow policies present, none matched: denied";
      } else {
        policy = Optional.of(reason);
        detail = "denied by DENY policy " + describe(reason);
        firstMatch(inbound, RbacEngine.Action.ALLOW, authz).ifPresent(allow -> notes.add("ALLOW policy " + describe(allow)
            + " matches too; DENY wins"));
      }
    }
    inbound.authorization().auditPolicy(authz).ifPresent(audit -> notes.add("AUDIT policy " + describe(audit)
        + " matches: the request is audit-logged"));
    inbound.authorization().evaluateShadow(authz).ifPresent(shadow -> notes.add("dry-run (istio.io/dry-run) policies "
        + (shadow instanceof AuthzDecision.Denied denied ? "would deny it: " + (denied.policyOrReason()
            .equals(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED) ? "no ALLOW policy matches" : describe(denied.policyOrReason()))
            : "would allow it") + "; not enforced"));
    return new RequestExplanation.Authorization(serving.node(), at, Optional.of(inbound.listener()), mode, principal,
        decision.isAllowed() ? "allowed" : "denied", detail, policy, notes);
  }

  private static Optional<String> firstMatch(InboundPolicy inbound, RbacEngine.Action action, AuthzRequest request) {
    return inbound.authorization().engines().stream().filter(e -> e.action() == action)
        .map(e -> e.firstMatch(request)).flatMap(Optional::stream).map(Policy::name).findFirst();
  }

  private static RequestExplanation.Authorization unknown(String destination, String endpoint, Optional<String> listener,
      Optional<String> principal, String why) {
    return new RequestExplanation.Authorization(destination, endpoint, listener, Optional.empty(), principal, "unknown", why,
        Optional.empty(), List.of());
  }

  /** {@code ns[default]-policy[reviews]-rule[0]} → {@code AuthorizationPolicy default/reviews, rule 0 (…)}. */
  static String describe(String rbacPolicy) {
    Matcher istio = ISTIO_POLICY.matcher(rbacPolicy);
    if (!istio.find()) {
      return rbacPolicy;
    }
    String described = "AuthorizationPolicy " + istio.group(1) + "/" + istio.group(2) + ", rule " + istio.group(3);
    return rbacPolicy.endsWith("-deny-due-to-bad-CUSTOM-action")
        ? described + " (a CUSTOM rule: with no ext_authz provider it denies)" : described;
  }

  /** The authority the client sends: the port only when it is not the scheme's default. */
  private static String authority(ExplainRequest request) {
    int defaultPort = request.scheme().equals("https") ? 443 : 80;
    return request.port() == defaultPort ? request.host() : request.host() + ":" + request.port();
  }

  private static String pathAndQuery(ExplainRequest request) {
    if (request.query().isEmpty()) {
      return request.path();
    }
    List<String> pairs = new ArrayList<>();
    request.query().forEach((name, value) -> pairs.add(value.isEmpty() ? name : name + "=" + value));
    return request.path() + "?" + String.join("&", pairs);
  }

  /** An IP literal as an address, with no name looked up. */
  public static Optional<InetAddress> literal(String address) {
    String bare = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1) : address;
    if (!bare.matches("(\\d{1,3}\\.){3}\\d{1,3}") && !(bare.contains(":") && bare.matches("[0-9A-Fa-f:.]+"))) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(bare));
    } catch (java.net.UnknownHostException e) {
      return Optional.empty();
    }
  }
}
