package dev.inmesh.tracing;

import io.micrometer.tracing.Tracer;
import java.util.Objects;
import java.util.Optional;

/**
 * Mesh spans through Micrometer Tracing, and so through whichever tracer the app bridges it to
 * (OpenTelemetry, Brave): {@code Mesh.builder().tracing(new MicrometerTracing(tracer))}. The
 * tracer makes the ids and records the spans; a client span's parent is the app's current span
 * when it has one, else the request the thread serves. Needs {@code io.micrometer:micrometer-tracing}
 * on the class path, which an app with a Micrometer tracer has.
 *
 * <p>A 64-bit trace id (Brave's default) goes on the wire left-padded to W3C's 128 bits, as Brave
 * does itself. A tracer that hands out no usable ids (a no-op tracer) gets propagation only.
 */
public final class MicrometerTracing implements Tracing {
  private final Tracer tracer;

  public MicrometerTracing(Tracer tracer) {
    this.tracer = Objects.requireNonNull(tracer, "tracer");
  }

  @Override
  public Tracing.Span startClient(String name) {
    io.micrometer.tracing.Span.Builder builder = tracer.spanBuilder().name(name).kind(io.micrometer.tracing.Span.Kind.CLIENT);
    io.micrometer.tracing.Span current = tracer.currentSpan();
    Optional<TraceContext> served = TraceContext.current();
    if (current != null) {
      builder.setParent(current.context());
    } else if (served.isPresent()) {
      builder.setParent(remote(served.get()));
    } else {
      builder.setNoParent();
    }
    return wrap(builder.start(), served.map(TraceContext::child).orElseGet(TraceContext::root));
  }

  @Override
  public Tracing.Span startServer(String name, Optional<TraceContext> caller) {
    io.micrometer.tracing.Span.Builder builder = tracer.spanBuilder().name(name).kind(io.micrometer.tracing.Span.Kind.SERVER);
    if (caller.isPresent()) {
      builder.setParent(remote(caller.get()));
    } else {
      builder.setNoParent();
    }
    return wrap(builder.start(), caller.orElseGet(TraceContext::root));
  }

  private io.micrometer.tracing.TraceContext remote(TraceContext context) {
    return tracer.traceContextBuilder().traceId(context.traceId()).spanId(context.spanId()).sampled(context.sampled()).build();
  }

  /** The tracer's ids, with the tracestate the trace came with ({@code fallback}'s), passed on unchanged. */
  private Tracing.Span wrap(io.micrometer.tracing.Span span, TraceContext fallback) {
    return new Recorded(tracer, span, ids(span).map(ids -> ids.withTracestate(fallback.tracestate())).orElse(fallback));
  }

  /** The span's ids in W3C form, if the tracer made real ones. */
  static Optional<TraceContext> ids(io.micrometer.tracing.Span span) {
    if (span.isNoop()) {
      return Optional.empty();
    }
    io.micrometer.tracing.TraceContext context = span.context();
    String traceId = context.traceId();
    if (traceId != null && traceId.length() == 16) {
      traceId = "0000000000000000" + traceId;
    }
    String parent = context.parentId();
    try {
      return Optional.of(new TraceContext(traceId, context.spanId(), !Boolean.FALSE.equals(context.sampled()),
          parent == null || !parent.matches("[0-9a-f]{16}") || parent.equals("0000000000000000") ? "" : parent, ""));
    } catch (IllegalArgumentException | NullPointerException e) {
      return Optional.empty();
    }
  }

  private record Recorded(Tracer tracer, io.micrometer.tracing.Span span, TraceContext context) implements Tracing.Span {
    @Override
    public Tracing.Span tag(String key, String value) {
      span.tag(key, value);
      return this;
    }

    @Override
    public Tracing.Span error(Throwable error) {
      span.error(error);
      return this;
    }

    @Override
    public TraceContext.Scope attach() {
      TraceContext.Scope mesh = TraceContext.attach(context);
      Tracer.SpanInScope app = tracer.withSpan(span);
      return () -> {
        app.close();
        mesh.close();
      };
    }

    @Override
    public void end() {
      span.end();
    }
  }
}
