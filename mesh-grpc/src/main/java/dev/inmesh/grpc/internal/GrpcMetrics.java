package dev.inmesh.grpc.internal;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.internal.telemetry.AccessLog;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.tracing.Tracing;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Istio's request metrics for gRPC, the same names and labels as the HTTP path: the server side
 * reports {@code reporter="destination"} with the caller's SPIFFE ID from the TLS session, the
 * client side {@code reporter="source"}. As Istio does for gRPC, {@code response_code} is the
 * HTTP status (200 for every call that got a gRPC status) and {@code grpc_response_status} the code.
 */
public final class GrpcMetrics {
  static final Metadata.Key<String> PEER_METADATA = Metadata.Key.of(PeerMetadata.HEADER, Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> PEER_METADATA_ID = Metadata.Key.of(PeerMetadata.ID_HEADER, Metadata.ASCII_STRING_MARSHALLER);
  private final CallRecorder recorder;
  private final PeerMetadata self;

  /** @param accessLog where each call's line goes, client and server side, as Envoy logs gRPC over HTTP/2 */
  public GrpcMetrics(IstioMetrics metrics, AccessLog accessLog, PeerMetadata self) {
    // spans are GrpcTracing's, a separate interceptor in MeshGrpc's wiring
    this.recorder = CallRecorder.of(metrics, accessLog, Tracing.NONE);
    this.self = self;
  }

  public ServerInterceptor server() {
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        CallRecorder.Call recorded = recorder.startUntraced();
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        Optional<SpiffeId> source = peer(session);
        String policy = session == null ? "none" : "mutual_tls";
        Optional<PeerMetadata> caller = PeerMetadata.decode(headers.get(PEER_METADATA));
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata responseHeaders) {
            answer(caller, responseHeaders);
            super.sendHeaders(responseHeaders);
          }

          @Override
          public void close(Status status, Metadata trailers) {
            String flags = status.getCode() == Status.Code.PERMISSION_DENIED
                && status.getDescription() != null && status.getDescription().startsWith("Access Denied") ? "RBAC" : "-";
            recorded.served(source, policy, caller, CallRecorder.Response.grpc(status.getCode().value(), flags));
            log(recorded, status, flags, call.getAuthority(), call.getMethodDescriptor(), headers, null,
                address(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), source);
            super.close(status, trailers);
          }
        }, headers);
      }
    };
  }

  public ClientInterceptor client(String target) {
    String destination = recorder.destinationService(target);
    // Istio's metadata exchange, with mesh services only
    boolean exchange = destination.endsWith(".svc.cluster.local");
    String encoded = self.encode();
    return new ClientInterceptor() {
      @Override
      public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        CallRecorder.Call recorded = recorder.startUntraced();
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<A> listener, Metadata headers) {
            ClientCall<Q, A> call = this;
            if (exchange && !headers.containsKey(PEER_METADATA)) {
              headers.put(PEER_METADATA, encoded);
              headers.put(PEER_METADATA_ID, self.id());
            }
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              private Optional<PeerMetadata> answered = Optional.empty();

              @Override
              public void onHeaders(Metadata responseHeaders) {
                answered = PeerMetadata.decode(responseHeaders.get(PEER_METADATA));
                responseHeaders.discardAll(PEER_METADATA);
                responseHeaders.discardAll(PEER_METADATA_ID);
                super.onHeaders(responseHeaders);
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                Optional<SpiffeId> server = peer(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                recorded.sent(destination, server, answered, CallRecorder.Response.grpc(status.getCode().value(), "-"));
                log(recorded, status, "-", next.authority(), method, headers,
                    address(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), null, Optional.empty());
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
  }

  /** The server's metadata in its response headers, when the caller sent its own. */
  void answer(Optional<PeerMetadata> caller, Metadata responseHeaders) {
    if (caller.isPresent() && !responseHeaders.containsKey(PEER_METADATA)) {
      responseHeaders.put(PEER_METADATA, self.encode());
      responseHeaders.put(PEER_METADATA_ID, self.id());
    }
  }

  /** One access log line: HTTP/2, response code 200 and the call's path, as Envoy logs a gRPC call. */
  static void log(CallRecorder.Call recorded, Status status, String flags, String authority, MethodDescriptor<?, ?> method,
      Metadata headers, String upstream, String downstream, Optional<SpiffeId> caller) {
    if (!recorded.logging()) {
      return;
    }
    recorded.log(new CallRecorder.LogLine("HTTP/2", 200, flags, 0, 0, upstream, downstream,
        caller.map(Object::toString).orElse(null),
        name -> switch (name) {
          case ":method" -> "POST";
          case ":path" -> "/" + method.getFullMethodName();
          case ":authority" -> authority;
          default -> name.startsWith(":") || name.endsWith(Metadata.BINARY_HEADER_SUFFIX) ? null
              : headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
        },
        name -> name.equalsIgnoreCase("grpc-status") ? Integer.toString(status.getCode().value()) : null));
  }

  static String address(SocketAddress address) {
    return address instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() + ":" + inet.getPort() : null;
  }

  static Optional<SpiffeId> peer(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? SpiffeId.of(leaf) : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }
}
