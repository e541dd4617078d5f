package dev.inmesh.grpc.internal;

import dev.inmesh.tracing.TraceContext;
import dev.inmesh.tracing.Tracing;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.function.Supplier;

/**
 * Spans and trace context over gRPC metadata. A client call opens a client span (a child of
 * the span the calling thread serves, or a new trace) and sends it as {@code traceparent} and B3
 * headers, with the trace's {@code tracestate} ({@link TraceContext#headers()}); a
 * server reads {@code traceparent} (or B3), opens a server span continuing it, and makes it
 * current in every callback of the call, so calls the service makes continue the trace. Spans end
 * when the call closes, tagged as Envoy tags gRPC: {@code grpc.path}, {@code grpc.status_code}.
 */
public final class GrpcTracing {
  private static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of(TraceContext.TRACEPARENT, Metadata.ASCII_STRING_MARSHALLER);

  private GrpcTracing() {}

  public static ClientInterceptor client(Tracing tracing) {
    return new ClientInterceptor() {
      @Override
      public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<A> listener, Metadata headers) {
            if (headers.containsKey(TRACEPARENT)) {
              // the caller propagates a context of its own
              super.start(listener, headers);
              return;
            }
            Tracing.Span span = tracing.startClient(next.authority() + "/*");
            // W3C and B3 (Istio's Zipkin default reads B3); a tracestate the caller set stays
            for (var header : span.context().headers().entrySet()) {
              Metadata.Key<String> key = Metadata.Key.of(header.getKey(), Metadata.ASCII_STRING_MARSHALLER);
              if (!header.getKey().equals(TraceContext.TRACESTATE) || !headers.containsKey(key)) {
                headers.discardAll(key);
                headers.put(key, header.getValue());
              }
            }
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onClose(Status status, Metadata trailers) {
                end(span, next.authority(), method.getFullMethodName(), status);
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
  }

  /** @param operation the server spans' name, Istio's: {@code ratings.default.svc.cluster.local:9080/*} */
  public static ServerInterceptor server(Tracing tracing, String operation) {
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        Tracing.Span span = tracing.startServer(operation,
            TraceContext.fromHeaders(name -> headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER))));
        ServerCall<Q, A> traced = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            end(span, call.getAuthority(), call.getMethodDescriptor().getFullMethodName(), status);
            super.close(status, trailers);
          }
        };
        ServerCall.Listener<Q> listener = within(span, () -> next.startCall(traced, headers));
        return new ServerCall.Listener<Q>() {
          @Override
          public void onMessage(Q message) {
            within(span, () -> {
              listener.onMessage(message);
              return null;
            });
          }

          @Override
          public void onHalfClose() {
            within(span, () -> {
              listener.onHalfClose();
              return null;
            });
          }

          @Override
          public void onCancel() {
            within(span, () -> {
              listener.onCancel();
              return null;
            });
          }

          @Override
          public void onComplete() {
            within(span, () -> {
              listener.onComplete();
              return null;
            });
          }

          @Override
          public void onReady() {
            within(span, () -> {
              listener.onReady();
              return null;
            });
          }
        };
      }
    };
  }

  private static void end(Tracing.Span span, String authority, String fullMethodName, Status status) {
    span.http("POST", "http://" + authority + "/" + fullMethodName, 200, "-")
        .tag("grpc.path", "/" + fullMethodName)
        .tag("grpc.status_code", Integer.toString(status.getCode().value()));
    if (!status.isOk()) {
      span.tag("error", "true");
      if (status.getDescription() != null) {
        span.tag("grpc.message", status.getDescription());
      }
    }
    span.end();
  }

  private static <T> T within(Tracing.Span span, Supplier<T> body) {
    try (TraceContext.Scope scope = span.attach()) {
      return body.get();
    }
  }
}
