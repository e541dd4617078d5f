package dev.inmesh.grpc.internal;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.tracing.TraceContext;
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
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Each gRPC call's telemetry on one {@link CallRecorder.Call}: Istio's request metrics, the access
 * log line and the span, with the same names, labels and tags as the HTTP path.
 *
 * <p>Metrics: the server side reports {@code reporter="destination"} with the caller's SPIFFE ID
 * from the TLS session, the client side {@code reporter="source"}. As Istio does for gRPC,
 * {@code response_code} is the HTTP status (200 for every call that got a gRPC status) and
 * {@code grpc_response_status} the code.
 *
 * <p>Spans and trace context over gRPC metadata: a client call opens a client span (a child of the
 * span the calling thread serves, or a new trace) and sends it as {@code traceparent} and B3
 * headers, with the trace's {@code tracestate} ({@link TraceContext#headers()}), unless the caller
 * sent a {@code traceparent} of its own; a server reads {@code traceparent} (or B3), opens a server
 * span continuing it, and makes it current in every callback of the call, so calls the service
 * makes continue the trace. Spans end when the call closes, tagged as Envoy tags gRPC:
 * {@code grpc.path}, {@code grpc.status_code}.
 */
public final class GrpcTelemetry {
  static final Metadata.Key<String> PEER_METADATA = Metadata.Key.of(PeerMetadata.HEADER, Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> PEER_METADATA_ID = Metadata.Key.of(PeerMetadata.ID_HEADER, Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of(TraceContext.TRACEPARENT, Metadata.ASCII_STRING_MARSHALLER);
  private final CallRecorder recorder;
  private final PeerMetadata self;

  /**
   * @param recorder where each call's metrics, access log line (client and server side, as Envoy
   *     logs gRPC over HTTP/2) and span go
   */
  public GrpcTelemetry(CallRecorder recorder, PeerMetadata self) {
    this.recorder = recorder;
    this.self = self;
  }

  /** @param operation the server spans' name, Istio's: {@code ratings.default.svc.cluster.local:9080/*} */
  public ServerInterceptor server(String operation) {
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        CallRecorder.Call recorded = recorder.startServer(operation, TraceContext.fromHeaders(name -> headers.get(key(name))));
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        Optional<SpiffeId> source = peer(session);
        String policy = session == null ? "none" : "mutual_tls";
        Optional<PeerMetadata> caller = PeerMetadata.decode(headers.get(PEER_METADATA));
        ServerCall<Q, A> recording = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
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
            end(recorded, call.getAuthority(), call.getMethodDescriptor(), status);
            super.close(status, trailers);
          }
        };
        return attached(recorded, () -> next.startCall(recording, headers));
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
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<A> listener, Metadata headers) {
            ClientCall<Q, A> call = this;
            // a caller that set traceparent propagates a context of its own
            CallRecorder.Call recorded = headers.containsKey(TRACEPARENT) ? recorder.startUntraced()
                : recorder.startClient(next.authority() + "/*");
            recorded.span().ifPresent(span -> propagate(span.context(), headers));
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
                end(recorded, next.authority(), method, status);
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
  }

  /** W3C and B3 headers of {@code context} (Istio's Zipkin default reads B3); a tracestate the caller set stays. */
  private static void propagate(TraceContext context, Metadata headers) {
    for (var header : context.headers().entrySet()) {
      Metadata.Key<String> key = key(header.getKey());
      if (!header.getKey().equals(TraceContext.TRACESTATE) || !headers.containsKey(key)) {
        headers.discardAll(key);
        headers.put(key, header.getValue());
      }
    }
  }

  /** The server's metadata in its response headers, when the caller sent its own. */
  void answer(Optional<PeerMetadata> caller, Metadata responseHeaders) {
    if (caller.isPresent() && !responseHeaders.containsKey(PEER_METADATA)) {
      responseHeaders.put(PEER_METADATA, self.encode());
      responseHeaders.put(PEER_METADATA_ID, self.id());
    }
  }

  /**
   * The listener of a served call, {@code start}ed and then called back with the call's span
   * current, so that calls the service makes continue its trace.
   */
  static <Q> ServerCall.Listener<Q> attached(CallRecorder.Call recorded, Supplier<ServerCall.Listener<Q>> start) {
    ServerCall.Listener<Q> listener = within(recorded, start);
    return new ServerCall.Listener<Q>() {
      @Override
      public void onMessage(Q message) {
        within(recorded, () -> {
          listener.onMessage(message);
          return null;
        });
      }

      @Override
      public void onHalfClose() {
        within(recorded, () -> {
          listener.onHalfClose();
          return null;
        });
      }

      @Override
      public void onCancel() {
        within(recorded, () -> {
          listener.onCancel();
          return null;
        });
      }

      @Override
      public void onComplete() {
        within(recorded, () -> {
          listener.onComplete();
          return null;
        });
      }

      @Override
      public void onReady() {
        within(recorded, () -> {
          listener.onReady();
          return null;
        });
      }
    };
  }

  /** Tags the call's span as Envoy tags a gRPC call, and ends it. */
  static void end(CallRecorder.Call recorded, String authority, MethodDescriptor<?, ?> method, Status status) {
    recorded.span().ifPresent(span -> {
      String fullMethodName = method.getFullMethodName();
      span.http("POST", "http://" + authority + "/" + fullMethodName, 200, "-")
          .tag("grpc.path", "/" + fullMethodName)
          .tag("grpc.status_code", Integer.toString(status.getCode().value()));
      if (!status.isOk()) {
        span.tag("error", "true");
        if (status.getDescription() != null) {
          span.tag("grpc.message", status.getDescription());
        }
      }
    });
    recorded.end();
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
              : headers.get(key(name));
        },
        name -> name.equalsIgnoreCase("grpc-status") ? Integer.toString(status.getCode().value()) : null));
  }

  static Metadata.Key<String> key(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
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

  private static <T> T within(CallRecorder.Call recorded, Supplier<T> body) {
    try (TraceContext.Scope scope = recorded.attach()) {
      return body.get();
    }
  }
}
