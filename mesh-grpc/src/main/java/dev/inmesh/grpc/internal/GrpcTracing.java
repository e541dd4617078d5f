package dev.inmesh.grpc.internal;

import dev.inmesh.telemetry.TraceContext;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.function.Supplier;

/**
 * W3C trace context over gRPC metadata: a client call sends {@code traceparent} (a child of the
 * trace the calling thread serves, or a new trace); a server reads it (or B3), starts a trace when
 * there is none, and makes it {@link TraceContext#current()} in every callback of the call, so
 * calls the service makes continue the trace.
 */
public final class GrpcTracing {
  private static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of(TraceContext.TRACEPARENT, Metadata.ASCII_STRING_MARSHALLER);

  private GrpcTracing() {}

  public static ClientInterceptor client() {
    return new ClientInterceptor() {
      @Override
      public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<A> listener, Metadata headers) {
            if (!headers.containsKey(TRACEPARENT)) {
              headers.put(TRACEPARENT, TraceContext.forOutbound().traceparent());
            }
            super.start(listener, headers);
          }
        };
      }
    };
  }

  public static ServerInterceptor server() {
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        TraceContext trace = TraceContext.fromHeaders(name -> headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER)))
            .orElseGet(TraceContext::root);
        ServerCall.Listener<Q> listener = within(trace, () -> next.startCall(call, headers));
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
          @Override
          public void onMessage(Q message) {
            within(trace, () -> {
              super.onMessage(message);
              return null;
            });
          }

          @Override
          public void onHalfClose() {
            within(trace, () -> {
              super.onHalfClose();
              return null;
            });
          }

          @Override
          public void onReady() {
            within(trace, () -> {
              super.onReady();
              return null;
            });
          }
        };
      }
    };
  }

  private static <T> T within(TraceContext trace, Supplier<T> body) {
    try (TraceContext.Scope scope = TraceContext.attach(trace)) {
      return body.get();
    }
  }
}
