package dev.inmesh.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.tracing.Span;
import io.micrometer.tracing.test.simple.SimpleSpan;
import io.micrometer.tracing.test.simple.SimpleTracer;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MicrometerTracingTest {
  private static final TraceContext CALLER = new TraceContext("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", true);

  private final SimpleTracer tracer = new SimpleTracer();
  private final Tracing tracing = new MicrometerTracing(tracer);

  @Test
  void aServerSpanContinuesTheCallersTraceAndIsCurrentForTheHandler() {
    Tracing.Span server = tracing.startServer("reviews.default.svc.cluster.local:9080/*", Optional.of(CALLER));

    SimpleSpan recorded = tracer.lastSpan();
    assertThat(recorded.getKind()).isEqualTo(Span.Kind.SERVER);
    assertThat(recorded.getTraceId()).isEqualTo(CALLER.traceId());
    assertThat(recorded.getParentId()).isEqualTo(CALLER.spanId());
    assertThat(server.context().spanId()).isEqualTo(recorded.getSpanId()).isNotEqualTo(CALLER.spanId());
    try (TraceContext.Scope scope = server.attach()) {
      assertThat(TraceContext.current()).contains(server.context());
      assertThat(tracer.currentSpan()).isSameAs(recorded);
    }
    assertThat(TraceContext.current()).isEmpty();
    assertThat(tracer.currentSpan()).isNull();
  }

  @Test
  void aClientSpanIsAChildOfTheSpanTheThreadServesAndCarriesItsTags() {
    Tracing.Span server = tracing.startServer("in", Optional.of(CALLER));
    Tracing.Span client;
    try (TraceContext.Scope scope = server.attach()) {
      client = tracing.startClient("ratings.default.svc.cluster.local:9080/*");
    }
    client.tag("http.status_code", "503").end();

    SimpleSpan recorded = tracer.lastSpan();
    assertThat(recorded.getKind()).isEqualTo(Span.Kind.CLIENT);
    assertThat(recorded.getTraceId()).isEqualTo(CALLER.traceId());
    assertThat(recorded.getParentId()).isEqualTo(server.context().spanId());
    assertThat(recorded.getTags()).containsEntry("http.status_code", "503");
    assertThat(recorded.getEndTimestamp().toEpochMilli()).isPositive();
    assertThat(client.context().traceparent()).isEqualTo("00-" + CALLER.traceId() + "-" + recorded.getSpanId() + "-01");
  }

  @Test
  void aTracerThatMakesNoUsableIdsStillGetsTheSpanAndTheWireGetsAValidContext() {
    // SimpleTracer leaves a span without a parent without ids
    Tracing.Span server = tracing.startServer("in", Optional.empty());

    assertThat(tracer.getSpans()).hasSize(1);
    assertThat(server.context().traceparent()).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
  }

  @Test
  void withoutATracerClientsSendAChildOfTheContextTheThreadServes() {
    Tracing.Span server = Tracing.NONE.startServer("in", Optional.of(CALLER));
    assertThat(server.context()).isEqualTo(CALLER);
    try (TraceContext.Scope scope = server.attach()) {
      TraceContext sent = Tracing.NONE.startClient("out").context();
      assertThat(sent.traceId()).isEqualTo(CALLER.traceId());
      assertThat(sent.spanId()).isNotEqualTo(CALLER.spanId());
    }
  }

  @Test
  void theTracersSpansGoOnTheWireAsB3WithTheirParentAndTheCallersTracestate() {
    Tracing.Span server = tracing.startServer("in", Optional.of(CALLER.withTracestate("congo=t61rcWkgMzE")));
    Tracing.Span client;
    try (TraceContext.Scope scope = server.attach()) {
      client = tracing.startClient("out");
    }

    SimpleSpan recorded = tracer.lastSpan();
    assertThat(client.context().headers())
        .containsEntry("x-b3-traceid", CALLER.traceId())
        .containsEntry("x-b3-spanid", recorded.getSpanId())
        .containsEntry("x-b3-parentspanid", server.context().spanId())
        .containsEntry("tracestate", "congo=t61rcWkgMzE");
  }
}
