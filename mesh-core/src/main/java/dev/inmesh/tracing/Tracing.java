package dev.inmesh.tracing;

import java.util.Optional;

/**
 * Where the mesh's spans go. Every adapter opens a span per request: a client span around each
 * outbound HTTP or gRPC call, a server span around each request served. Its {@link Span#context()}
 * is what goes on the wire ({@code traceparent}) and what the handler's thread sees as
 * {@link TraceContext#current()}, so the trace the tracer records is the trace the requests carry.
 *
 * <p>{@link #NONE}, the default, records nothing: it only propagates, with ids of its own. With a
 * tracer ({@link MicrometerTracing} for Micrometer Tracing, and through its bridges OpenTelemetry
 * and Brave), the tracer makes the ids and records the spans, and the app's own spans nest inside
 * the mesh's server span.
 */
public interface Tracing {
  /** Propagation only: client spans are children of the current context, servers continue the caller's. */
  Tracing NONE = new Tracing() {
    @Override
    public Span startClient(String name) {
      return new Untraced(TraceContext.forOutbound());
    }

    @Override
    public Span startServer(String name, Optional<TraceContext> caller) {
      return new Untraced(caller.orElseGet(TraceContext::root));
    }
  };

  /** A span for a call this thread makes: a child of the request it serves, or a new trace. */
  Span startClient(String name);

  /** A span for a request served, continuing {@code caller}'s trace (from its headers) if it sent one. */
  Span startServer(String name, Optional<TraceContext> caller);

  /** One span. Tags follow Istio's (Envoy's) span tags: {@code http.method}, {@code http.status_code}, … */
  interface Span {
    TraceContext context();

    Span tag(String key, String value);

    Span error(Throwable error);

    /**
     * Istio's tags for an HTTP exchange: {@code http.method}, {@code http.url},
     * {@code http.status_code}, {@code response_flags}, and {@code error=true} for a 5xx, as Envoy
     * sets them.
     */
    default Span http(String method, String url, int status, String responseFlags) {
      tag("http.method", method).tag("http.url", url).tag("http.status_code", Integer.toString(status))
          .tag("response_flags", responseFlags);
      return status >= 500 ? tag("error", "true") : this;
    }

    /** Makes the span current on this thread, for the mesh and for the tracer, until the scope closes. */
    TraceContext.Scope attach();

    void end();
  }

  /** A context without a recorder. */
  record Untraced(TraceContext context) implements Span {
    @Override
    public Span tag(String key, String value) {
      return this;
    }

    @Override
    public Span error(Throwable error) {
      return this;
    }

    @Override
    public TraceContext.Scope attach() {
      return TraceContext.attach(context);
    }

    @Override
    public void end() {}
  }
}
