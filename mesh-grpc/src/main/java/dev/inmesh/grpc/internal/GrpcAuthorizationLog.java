package dev.inmesh.grpc.internal;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.internal.inbound.InboundMetrics;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.authz.AuthzDecision;
import dev.inmesh.internal.security.authz.AuthzRequest;
import dev.inmesh.internal.security.authz.RbacEngine;
import dev.inmesh.internal.telemetry.AuthorizationLog;
import dev.inmesh.spi.CallRecorder;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Optional;

/**
 * Istio's AUDIT and dry-run policies on a proxyless gRPC server, whose RBAC filter (grpc-java's)
 * accepts both and ignores them: the port's policies as Inmesh's own xDS stream holds them are
 * evaluated for each call, an AUDIT match is logged, and what the dry-run policies would decide is
 * counted and logged, as {@link AuthorizationLog} and the door do for HTTP. It decides nothing:
 * grpc-java's RBAC filter enforces the policies, and refuses a call before any interceptor sees it,
 * so only the calls it allowed are audited and counted here.
 */
public final class GrpcAuthorizationLog implements ServerInterceptor {
  private final Mesh mesh;
  private final int port;
  private final InboundMetrics metrics;
  private final AuthorizationLog log = AuthorizationLog.defaults();

  public GrpcAuthorizationLog(Mesh mesh, int port) {
    this.mesh = mesh;
    this.port = port;
    this.metrics = new InboundMetrics(CallRecorder.of(mesh), "grpc");
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    AuthorizationEngine engine = mesh.inbound(port).map(InboundPolicy::authorization).orElse(AuthorizationEngine.EMPTY);
    boolean audits = engine.engines().stream().anyMatch(e -> e.action() == RbacEngine.Action.LOG);
    if (!audits && engine.shadowEngines().isEmpty()) {
      return next.startCall(call, headers);
    }
    Optional<String> principal = GrpcTelemetry.peer(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION))
        .map(Object::toString);
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    String path = "/" + call.getMethodDescriptor().getFullMethodName();
    AuthzRequest request = new AuthzRequest(principal, address(remote),
        address(call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR)), port, "POST",
        call.getAuthority() == null ? "" : call.getAuthority(), path, name -> header(headers, name), Optional.empty());
    AuthorizationLog.Request logged = new AuthorizationLog.Request("POST", path, port,
        principal.orElse("plaintext " + remote));
    engine.evaluateShadow(request).ifPresent(shadow -> {
      metrics.shadow(port, shadow.isAllowed());
      log.dryRun(logged, shadow);
    });
    // grpc-java's RBAC filter refuses a call before any interceptor sees it: what reaches here was allowed
    engine.auditPolicy(request).ifPresent(policy -> log.audit(policy, logged, new AuthzDecision.Allowed(Optional.empty())));
    return next.startCall(call, headers);
  }

  private static InetAddress address(SocketAddress address) {
    return address instanceof InetSocketAddress inet && inet.getAddress() != null
        ? inet.getAddress() : InetAddress.getLoopbackAddress();
  }

  private static Optional<String> header(Metadata headers, String name) {
    if (name.endsWith(Metadata.BINARY_HEADER_SUFFIX) || name.startsWith(":")) {
      return Optional.empty();
    }
    Iterable<String> values = headers.getAll(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
    return values == null ? Optional.empty() : Optional.of(String.join(",", values));
  }
}
