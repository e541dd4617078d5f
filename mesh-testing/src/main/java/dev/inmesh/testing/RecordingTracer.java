package dev.inmesh.testing;

import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real tracer for tests: OpenTelemetry's SDK behind Micrometer Tracing's bridge, as an app wires
 * it, exporting every ended span into a list instead of to a collector.
 */
public final class RecordingTracer {
  private final List<SpanData> spans = new CopyOnWriteArrayList<>();
  private final Tracer tracer;

  public RecordingTracer() {
    SpanExporter exporter = new SpanExporter() {
      @Override
      public CompletableResultCode export(Collection<SpanData> batch) {
        spans.addAll(batch);
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode flush() {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
      }
    };
    SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    this.tracer = new OtelTracer(provider.get("inmesh-test"), new OtelCurrentTraceContext(), event -> {});
  }

  /** The Micrometer tracer to hand to the code under test. */
  public Tracer tracer() {
    return tracer;
  }

  /** The spans ended so far, in the order they ended. */
  public List<SpanData> spans() {
    return List.copyOf(spans);
  }
}
