package dev.inmesh.grpc.internal;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.spi.InboundDoor;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.spi.RequestHeaderChanges;
import dev.inmesh.tracing.TraceContext;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC server behind Inmesh's inbound door: the door listens on the public port, tells TLS from
 * plaintext by the first byte and takes what the port's PeerAuthentication mode allows (so
 * PERMISSIVE takes both on one port), terminates mesh mTLS (negotiating {@code h2}) and relays to
 * a plain gRPC server on loopback. Every call is authorized with the port's AuthorizationPolicies
 * by Inmesh's RBAC engine, with the caller's SPIFFE ID and address as the door saw them, after the
 * end user's JWT (in the {@code authorization} metadata by default) is verified; an invalid token
 * ends the call with UNAUTHENTICATED (Envoy's reason, such as {@code Jwt is expired}), a refused
 * call with PERMISSION_DENIED ({@code RBAC: access denied}), before the service sees it.
 */
public final class DoorServer extends Server {
  /** The caller, for services: {@code DoorServer.PEER.get()} inside a call. */
  public static final Context.Key<PeerInfo> PEER = Context.key("inmesh-peer");

  private final Mesh mesh;
  private final int port;
  private final InboundDoor.Builder doorBuilder;
  private final Server backend;
  private volatile InboundDoor door;

  /** @throws IllegalArgumentException when {@code port} is not a target port {@code mesh} serves */
  public DoorServer(Mesh mesh, int port, List<ServerServiceDefinition> services) {
    this.mesh = mesh;
    this.port = port;
    this.doorBuilder = InboundDoor.builder(mesh, port).grpc();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    services.forEach(builder::addService);
    this.backend = builder.intercept(new Gate()).build();
  }

  @Override
  public Server start() throws IOException {
    backend.start();
    door = doorBuilder
        .backend(new InetSocketAddress(InetAddress.getLoopbackAddress(), backend.getPort()))
        .start();
    return this;
  }

  @Override
  public int getPort() {
    return port;
  }

  @Override
  public List<? extends java.net.SocketAddress> getListenSockets() {
    return List.of(new InetSocketAddress(mesh.config().address(), port));
  }

  @Override
  public List<ServerServiceDefinition> getServices() {
    return backend.getServices();
  }

  @Override
  public Server shutdown() {
    if (door != null) {
      door.close();
    }
    backend.shutdown();
    return this;
  }

  @Override
  public Server shutdownNow() {
    if (door != null) {
      door.close();
    }
    backend.shutdownNow();
    return this;
  }

  @Override
  public boolean isShutdown() {
    return backend.isShutdown();
  }

  @Override
  public boolean isTerminated() {
    return backend.isTerminated();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    return backend.awaitTermination(timeout, unit);
  }

  @Override
  public void awaitTermination() throws InterruptedException {
    backend.awaitTermination();
  }

  /** Authorizes each call by the peer the door recorded for its connection. */
  private final class Gate implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
      InetSocketAddress remote = (InetSocketAddress) call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      String authority = call.getAuthority() == null ? "" : call.getAuthority();
      RequestHead head = new RequestHead("POST", authority, "/" + call.getMethodDescriptor().getFullMethodName(),
          name -> values(headers, name));
      InboundGate.Verdict verdict = door.gate().admit(remote.getAddress(), remote.getPort(), head);
      if (verdict instanceof InboundGate.Refused refused) {
        // Envoy's mapping of a local reply to a gRPC status: 401 UNAUTHENTICATED, 403 PERMISSION_DENIED
        Status status = switch (refused.status()) {
          case 401 -> Status.UNAUTHENTICATED;
          case 403 -> Status.PERMISSION_DENIED;
          default -> Status.UNAVAILABLE;
        };
        call.close(status.withDescription(refused.body()), new Metadata());
        return new ServerCall.Listener<>() {};
      }
      InboundGate.Admitted admitted = (InboundGate.Admitted) verdict;
      change(headers, admitted.headerChanges());
      Optional<PeerMetadata> caller = PeerMetadata.decode(headers.get(GrpcTelemetry.PEER_METADATA));
      CallRecorder.Call callRecord = admitted.call().traceServer(door.operation(),
          TraceContext.fromHeaders(name -> headers.get(GrpcTelemetry.key(name))));
      ServerCall<Q, A> recorded = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
        @Override
        public void sendHeaders(Metadata responseHeaders) {
          if (caller.isPresent() && !responseHeaders.containsKey(GrpcTelemetry.PEER_METADATA)) {
            responseHeaders.put(GrpcTelemetry.PEER_METADATA, door.peerMetadata());
          }
          super.sendHeaders(responseHeaders);
        }

        @Override
        public void close(Status status, Metadata trailers) {
          GrpcTelemetry.end(callRecord, call.getAuthority(), call.getMethodDescriptor(), status);
          admitted.completeGrpc(caller, status.getCode().value());
          PeerInfo peer = admitted.peer();
          GrpcTelemetry.log(callRecord, status, "-", authority, call.getMethodDescriptor(), headers, null,
              GrpcTelemetry.address(peer.source()), peer.principal());
          super.close(status, trailers);
        }
      };
      // the span is current inside the call's gRPC Context, in the service's start and every callback
      ServerCall.Listener<Q> listener = Contexts.interceptCall(Context.current().withValue(PEER, admitted.peer()), recorded,
          headers, (traced, tracedHeaders) -> GrpcTelemetry.attached(callRecord, () -> next.startCall(traced, tracedHeaders)));
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
        @Override
        public void onCancel() {
          // a cancelled call is never closed: it must still leave its connection's calls in flight
          admitted.abandoned();
          super.onCancel();
        }
      };
    }
  }

  /** The metadata as the service must see it: a verified token taken off, its payload or claims added. */
  private static void change(Metadata headers, RequestHeaderChanges changes) {
    for (String name : changes.removed()) {
      if (!name.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        headers.removeAll(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
      }
    }
    changes.set().forEach((name, value) -> {
      Metadata.Key<String> key = Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
      headers.removeAll(key);
      headers.put(key, value);
    });
  }

  private static List<String> values(Metadata headers, String name) {
    String key = name.toLowerCase(Locale.ROOT);
    if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
      return List.of();
    }
    Iterable<String> all = headers.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
    List<String> values = new ArrayList<>();
    if (all != null) {
      all.forEach(values::add);
    }
    return values;
  }
}
