package dev.inmesh.tracing;

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

  @Test
  void anOutboundCallCarriesB3WithTheSameTraceANewSpanAndItsParent() {
    TraceContext served = TraceContext.fromHeaders(Map.of("x-b3-traceid", "a3ce929d0e0e4736", "x-b3-spanid", "00f067aa0ba902b7",
        "x-b3-parentspanid", "1111111111111111", "x-b3-sampled", "1")::get).orElseThrow();
    assertThat(served.parentSpanId()).isEqualTo("1111111111111111");

    Map<String, String> headers = served.child().headers();

    assertThat(headers.get("x-b3-traceid")).as("a 64-bit trace id stays 64-bit in B3").isEqualTo("a3ce929d0e0e4736");
    assertThat(headers.get("x-b3-spanid")).hasSize(16).isNotEqualTo("00f067aa0ba902b7");
    assertThat(headers.get("x-b3-parentspanid")).isEqualTo("00f067aa0ba902b7");
    assertThat(headers.get("x-b3-sampled")).isEqualTo("1");
    assertThat(headers.get("traceparent")).isEqualTo("00-0000000000000000a3ce929d0e0e4736-" + headers.get("x-b3-spanid") + "-01");
    assertThat(headers).doesNotContainKey("tracestate");
  }

  @Test
  void tracestatePassesOnUnchangedWithAValidTraceparentOnly() {
    TraceContext served = TraceContext.fromHeaders(Map.of("traceparent", "00-" + TRACE + "-00f067aa0ba902b7-00",
        "tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")::get).orElseThrow();

    Map<String, String> headers = served.child().headers();

    assertThat(headers.get("tracestate")).isEqualTo("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    assertThat(headers.get("x-b3-sampled")).isEqualTo("0");
    assertThat(headers.get("x-b3-traceid")).isEqualTo(TRACE);
    assertThat(TraceContext.fromHeaders(Map.of("traceparent", "garbage", "tracestate", "congo=t61rcWkgMzE")::get)).isEmpty();
  }

  @Test
  void readsB3SingleHeaderWithItsParentAndDebugFlag() {
    TraceContext context = TraceContext.fromHeaders(Map.of("b3", TRACE + "-00f067aa0ba902b7-d-1111111111111111")::get)
        .orElseThrow();

    assertThat(context).isEqualTo(new TraceContext(TRACE, "00f067aa0ba902b7", true, "1111111111111111", ""));
    assertThat(context.b3()).isEqualTo(TRACE + "-00f067aa0ba902b7-1-1111111111111111");
  }
}
