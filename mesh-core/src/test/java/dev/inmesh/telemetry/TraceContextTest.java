package dev.inmesh.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceContextTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

  @Test
  void readsTraceparentAndItsChildKeepsTheTraceWithANewSpan() {
    TraceContext context = TraceContext.fromHeaders(Map.of("traceparent", "00-" + TRACE + "-00f067aa0ba902b7-01")::get)
        .orElseThrow();

    assertThat(context).isEqualTo(new TraceContext(TRACE, "00f067aa0ba902b7", true));
    TraceContext child = context.child();
    assertThat(child.traceId()).isEqualTo(TRACE);
    assertThat(child.spanId()).isNotEqualTo(context.spanId()).hasSize(16);
    assertThat(child.traceparent()).startsWith("00-" + TRACE + "-").endsWith("-01");
  }

  @Test
  void acceptsB3SingleAndMultiHeaderAndPadsSixtyFourBitTraceIds() {
    assertThat(TraceContext.fromHeaders(Map.of("b3", "a3ce929d0e0e4736-00f067aa0ba902b7-0")::get))
        .contains(new TraceContext("0000000000000000a3ce929d0e0e4736", "00f067aa0ba902b7", false));
    assertThat(TraceContext.fromHeaders(Map.of("x-b3-traceid", TRACE, "x-b3-spanid", "00f067aa0ba902b7")::get))
        .contains(new TraceContext(TRACE, "00f067aa0ba902b7", true));
  }

  @Test
  void malformedOrAllZeroIdsStartANewTrace() {
    assertThat(TraceContext.fromHeaders(Map.of("traceparent", "00-" + "0".repeat(32) + "-00f067aa0ba902b7-01")::get)).isEmpty();
    assertThat(TraceContext.fromHeaders(Map.of("traceparent", "ff-" + TRACE + "-00f067aa0ba902b7-01")::get)).isEmpty();
    assertThat(TraceContext.fromHeaders(Map.of("traceparent", "garbage")::get)).isEmpty();
  }

  @Test
  void outboundCallsContinueTheCurrentTraceOrStartOne() {
    TraceContext served = TraceContext.root();
    try (TraceContext.Scope scope = TraceContext.attach(served)) {
      assertThat(TraceContext.forOutbound().traceId()).isEqualTo(served.traceId());
    }
    assertThat(TraceContext.current()).isEmpty();
    assertThat(TraceContext.forOutbound().traceId()).isNotEqualTo(served.traceId());
  }
}
