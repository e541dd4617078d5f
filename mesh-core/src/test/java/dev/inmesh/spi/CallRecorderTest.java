package dev.inmesh.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Locality;
import dev.inmesh.MeshConfig;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.model.DestinationService;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.telemetry.AccessLog;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.tracing.TraceContext;
import dev.inmesh.tracing.Tracing;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** One handle per call: its time, Istio's labels, the access log line and the span, as every adapter records them. */
class CallRecorderTest {
  private static final MeshConfig PRODUCTPAGE = new MeshConfig(List.of("127.0.0.1:15010"), "bookinfo",
      Optional.of("productpage"), "productpage", Map.of("app", "productpage", "version", "v1"), Locality.UNKNOWN,
      "127.0.0.1", List.of(new ServicePort("http", 9080, 9080, "HTTP")), Duration.ofSeconds(1));
  private static final SpiffeId SELF = new SpiffeId("cluster.local", "bookinfo", "productpage");
  private static final SpiffeId REVIEWS = new SpiffeId("cluster.local", "bookinfo", "reviews");
  private static final Instant NOW = Instant.parse("2026-12-07T12:00:00.500Z");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final RecordingTracing tracing = new RecordingTracing();
  private final CallRecorder recorder = CallRecorder.unbound(PRODUCTPAGE, Optional.of(SELF), AccessLog.envoyDefault(),
      tracing, nanos::get, Clock.fixed(NOW, ZoneOffset.UTC));

  private void elapse(long millis) {
    nanos.addAndGet(millis * 1_000_000);
  }

  @Test
  void aSentCallIsReportedBySourceWithItsDurationAndSizes() {
    recorder.bindTo(registry);
    CallRecorder.Call call = recorder.startClient("reviews:9080/*");
    elapse(42);

    call.sent(new DestinationService("reviews.bookinfo.svc.cluster.local", "reviews", "bookinfo", false), Optional.of(REVIEWS),
        Optional.empty(), CallRecorder.Response.of("http", 503, "UF", 12, 19));

    DistributionSummary duration = registry.get(IstioMetrics.REQUEST_DURATION).tag("reporter", "source")
        .tag("response_code", "503").tag("response_flags", "UF").tag("source_workload", "productpage")
        .tag("destination_service", "reviews.bookinfo.svc.cluster.local")
        .tag("destination_principal", REVIEWS.toString()).tag("source_principal", SELF.toString()).summary();
    assertThat(duration.count()).isEqualTo(1);
    assertThat(duration.totalAmount()).isEqualTo(42.0);
    assertThat(registry.get(IstioMetrics.REQUEST_BYTES).summary().totalAmount()).isEqualTo(12.0);
    assertThat(registry.get(IstioMetrics.RESPONSE_BYTES).summary().totalAmount()).isEqualTo(19.0);
  }

  @Test
  void aServedGrpcCallIsReportedByDestinationAsIstioReportsGrpc() {
    recorder.bindTo(registry);
    CallRecorder.Call call = recorder.startUntraced();
    elapse(3);

    call.served(Optional.of(REVIEWS), "mutual_tls", Optional.of(new PeerMetadata("reviews-v2", "bookinfo",
        Map.of("app", "reviews", "version", "v2"))), CallRecorder.Response.grpc(7, "-"));

    assertThat(registry.get(IstioMetrics.REQUESTS).tag("reporter", "destination").tag("request_protocol", "grpc")
        .tag("response_code", "200").tag("grpc_response_status", "7").tag("source_workload", "reviews-v2")
        .tag("source_version", "v2").tag("connection_security_policy", "mutual_tls").counter().count()).isEqualTo(1);
    assertThat(registry.find(IstioMetrics.REQUEST_BYTES).summaries()).as("gRPC sizes are unknown: no size meters").isEmpty();
  }

  @Test
  void theAccessLogLineStartsWhenTheCallStartedAndLastsUntilItIsLogged() {
    recorder.bindTo(registry);
    CallRecorder.Call call = recorder.startUntraced();
    elapse(250);
    Map<String, String> request = Map.of(":method", "GET", ":path", "/reviews/1", ":authority", "reviews:9080",
        "user-agent", "curl/8", "x-request-id", "abc");

    AccessLog.Entry entry = call.entry(new CallRecorder.LogLine("HTTP/1.1", 200, "-", 0, 358, "10.0.0.7:9080", null, null,
        request::get, name -> null));

    assertThat(AccessLog.envoyDefault().format(entry)).isEqualTo("[2026-12-07T12:00:00.250Z] \"GET /reviews/1 HTTP/1.1\" 200 - 0"
        + " 358 250 - \"-\" \"curl/8\" \"abc\" \"reviews:9080\" \"10.0.0.7:9080\"");
  }

  @Test
  void aClientCallHasAClientSpanThatEndsOnceAndSaysWhyItFailed() {
    recorder.bindTo(registry);
    CallRecorder.Call call = recorder.startClient("reviews:9080/*");
    IllegalStateException failure = new IllegalStateException("refused");

    call.failed(failure);
    call.end();
    call.end();

    assertThat(tracing.started).containsExactly("client reviews:9080/*");
    assertThat(tracing.errors).containsExactly(failure);
    assertThat(tracing.ended).isEqualTo(1);
  }

  @Test
  void anUntracedCallOpensNoSpanUntilItsServerSpanIsAskedFor() {
    recorder.bindTo(registry);
    CallRecorder.Call call = recorder.startUntraced();
    call.end();
    assertThat(call.span()).isEmpty();
    assertThat(tracing.started).isEmpty();

    TraceContext caller = TraceContext.root();
    call.traceServer("productpage.bookinfo.svc.cluster.local:9080/*", Optional.of(caller));
    call.traceServer("twice", Optional.empty());

    assertThat(tracing.started).containsExactly("server productpage.bookinfo.svc.cluster.local:9080/*");
    assertThat(call.span()).map(Tracing.Span::context).contains(caller);
  }

  @Test
  void recordingBeforeBindingFailsNamingWhatIsMissing() {
    CallRecorder.Call call = recorder.startUntraced();

    assertThatThrownBy(() -> call.served(Optional.empty(), "none", Optional.empty(),
        CallRecorder.Response.of("http", 200, "-", -1, -1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("bindTo");
  }

  @Test
  void aRecorderIsBoundToOneRegistry() {
    recorder.bindTo(registry);
    recorder.bindTo(registry);

    assertThat(recorder.registry()).isSameAs(registry);
    assertThatThrownBy(() -> recorder.bindTo(new SimpleMeterRegistry())).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("one recorder per registry");
  }

  /** A tracer that remembers what it was asked to do. */
  private static final class RecordingTracing implements Tracing {
    final List<String> started = new ArrayList<>();
    final List<Throwable> errors = new ArrayList<>();
    final Map<String, String> tags = new LinkedHashMap<>();
    int ended;

    @Override
    public Span startClient(String name) {
      started.add("client " + name);
      return new Recorded(TraceContext.root());
    }

    @Override
    public Span startServer(String name, Optional<TraceContext> caller) {
      started.add("server " + name);
      return new Recorded(caller.orElseGet(TraceContext::root));
    }

    private final class Recorded implements Span {
      private final TraceContext context;

      Recorded(TraceContext context) {
        this.context = context;
      }

      @Override
      public TraceContext context() {
        return context;
      }

      @Override
      public Span tag(String key, String value) {
        tags.put(key, value);
        return this;
      }

      @Override
      public Span error(Throwable error) {
        errors.add(error);
        return this;
      }

      @Override
      public TraceContext.Scope attach() {
        return TraceContext.attach(context);
      }

      @Override
      public void end() {
        ended++;
      }
    }
  }
}
