package dev.inmesh.tracing;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * W3C trace context: the trace a request belongs to and the span that sent it. Inbound adapters
 * read it from {@code traceparent} (with its {@code tracestate}) or B3 ({@code b3},
 * {@code X-B3-TraceId}/{@code X-B3-SpanId}/{@code X-B3-ParentSpanId}/{@code X-B3-Sampled}), start
 * one when there is none, and make it {@link #current()} for the handler's thread; outbound calls
 * made on that thread send a {@link #child()} of it, so one trace id runs through every hop, HTTP
 * or gRPC.
 *
 * <p>An outbound call carries the context in both forms ({@link #headers()}): W3C
 * {@code traceparent}, {@code tracestate} passed on unchanged, and B3's multi-headers, which
 * Envoy's Zipkin tracer (Istio's default) reads and writes, so a trace crosses sidecar and
 * proxyless hops alike.
 *
 * @param traceId 32 lower-case hex digits, not all zero
 * @param spanId 16 lower-case hex digits, not all zero
 * @param parentSpanId the span this one is a child of, 16 hex digits; empty for a root or an unknown parent
 * @param tracestate the W3C {@code tracestate} that came with the trace, passed on as it is; empty for none
 */
public record TraceContext(String traceId, String spanId, boolean sampled, String parentSpanId, String tracestate) {
  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";
  public static final String B3 = "b3";
  public static final String B3_TRACE_ID = "x-b3-traceid";
  public static final String B3_SPAN_ID = "x-b3-spanid";
  public static final String B3_PARENT_SPAN_ID = "x-b3-parentspanid";
  public static final String B3_SAMPLED = "x-b3-sampled";
  /** W3C's bound on a tracestate header a vendor must pass on. */
  private static final int MAX_TRACESTATE = 512;
  private static final Pattern TRACEPARENT_VALUE =
      Pattern.compile("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?");
  private static final Pattern HEX = Pattern.compile("[0-9a-f]+");
  private static final ThreadLocal<TraceContext> CURRENT = new ThreadLocal<>();

  public TraceContext {
    if (!isId(traceId, 32) || !isId(spanId, 16)) {
      throw new IllegalArgumentException("not a W3C trace and span id: " + traceId + " " + spanId);
    }
    if (!parentSpanId.isEmpty() && !isId(parentSpanId, 16)) {
      throw new IllegalArgumentException("not a parent span id: " + parentSpanId);
    }
    java.util.Objects.requireNonNull(tracestate, "tracestate");
  }

  /** A context without a known parent or a tracestate. */
  public TraceContext(String traceId, String spanId, boolean sampled) {
    this(traceId, spanId, sampled, "", "");
  }

  /** This context with {@code tracestate}: a tracer's new span keeps the state its trace came with. */
  public TraceContext withTracestate(String tracestate) {
    return new TraceContext(traceId, spanId, sampled, parentSpanId, tracestate);
  }

  /**
   * The headers an outbound call carries, in order: {@code traceparent}, {@code tracestate} when
   * there is one, and B3's {@code x-b3-traceid} (16 digits when the trace id has 64 bits, as B3
   * senders made it), {@code x-b3-spanid}, {@code x-b3-parentspanid} when known, {@code x-b3-sampled}.
   */
  public java.util.Map<String, String> headers() {
    java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();
    forEachHeader(headers::put);
    return headers;
  }

  /**
   * Hands each of {@link #headers()} to {@code header}, in the same order, without building a map:
   * what a transport calls on every outbound call.
   */
  public void forEachHeader(java.util.function.BiConsumer<String, String> header) {
    header.accept(TRACEPARENT, traceparent());
    if (!tracestate.isEmpty()) {
      header.accept(TRACESTATE, tracestate);
    }
    header.accept(B3_TRACE_ID, b3TraceId());
    header.accept(B3_SPAN_ID, spanId);
    if (!parentSpanId.isEmpty()) {
      header.accept(B3_PARENT_SPAN_ID, parentSpanId);
    }
    header.accept(B3_SAMPLED, sampled ? "1" : "0");
  }

  /** B3's single-header form: {@code traceid-spanid-sampled[-parentspanid]}. */
  public String b3() {
    return b3TraceId() + "-" + spanId + (sampled ? "-1" : "-0") + (parentSpanId.isEmpty() ? "" : "-" + parentSpanId);
  }

  private String b3TraceId() {
    return traceId.startsWith("0000000000000000") ? traceId.substring(16) : traceId;
  }

  /** A new trace. */
  public static TraceContext root() {
    return new TraceContext(randomTraceId(), randomSpanId(), true);
  }

  /** The same trace, a new span whose parent is this one: what a call made inside this one sends. */
  public TraceContext child() {
    return new TraceContext(traceId, randomSpanId(), sampled, spanId, tracestate);
  }

  /** The {@code traceparent} header value, version 00. */
  public String traceparent() {
    return "00-" + traceId + "-" + spanId + (sampled ? "-01" : "-00");
  }

  /**
   * The context a request carries: {@code traceparent} first, then B3. Malformed values are
   * ignored, as the W3C spec says (a new trace starts).
   *
   * @param header a request header by lower-case name, null when absent
   */
  public static Optional<TraceContext> fromHeaders(Function<String, String> header) {
    String traceparent = header.apply(TRACEPARENT);
    if (traceparent != null) {
      var matcher = TRACEPARENT_VALUE.matcher(traceparent.trim().toLowerCase(Locale.ROOT));
      if (matcher.matches() && !matcher.group(1).equals("ff") && isId(matcher.group(2), 32) && isId(matcher.group(3), 16)) {
        boolean sampled = (Integer.parseInt(matcher.group(4), 16) & 1) == 1;
        // tracestate goes with a valid traceparent only (W3C), passed on as it came
        String state = header.apply(TRACESTATE);
        state = state == null || state.length() > MAX_TRACESTATE ? "" : state.trim();
        return Optional.of(new TraceContext(matcher.group(2), matcher.group(3), sampled, "", state));
      }
    }
    String b3 = header.apply(B3);
    if (b3 != null) {
      String[] parts = b3.trim().toLowerCase(Locale.ROOT).split("-");
      if (parts.length >= 2) {
        return b3(parts[0], parts[1], parts.length > 2 ? parts[2] : "1", parts.length > 3 ? parts[3] : null);
      }
    }
    String traceId = header.apply(B3_TRACE_ID);
    String spanId = header.apply(B3_SPAN_ID);
    if (traceId != null && spanId != null) {
      String sampled = header.apply(B3_SAMPLED);
      String flags = header.apply("x-b3-flags");
      String parent = header.apply(B3_PARENT_SPAN_ID);
      return b3(traceId.trim().toLowerCase(Locale.ROOT), spanId.trim().toLowerCase(Locale.ROOT),
          "1".equals(flags) ? "d" : sampled == null ? "1" : sampled.trim(),
          parent == null ? null : parent.trim().toLowerCase(Locale.ROOT));
    }
    return Optional.empty();
  }

  /** The context of the request this thread is serving, if an inbound adapter attached one. */
  public static Optional<TraceContext> current() {
    return Optional.ofNullable(CURRENT.get());
  }

  /** Makes {@code context} current on this thread until the returned scope closes. */
  public static Scope attach(TraceContext context) {
    TraceContext previous = CURRENT.get();
    CURRENT.set(context);
    return () -> {
      if (previous == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(previous);
      }
    };
  }

  /** What an outbound call sends: a child of the current context, or a new trace. */
  public static TraceContext forOutbound() {
    return current().map(TraceContext::child).orElseGet(TraceContext::root);
  }

  /** Ends an {@link #attach}. */
  @FunctionalInterface
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /** @param sampled B3's {@code 1}, {@code 0}, {@code d} (debug) or {@code true}/{@code false} */
  private static Optional<TraceContext> b3(String traceId, String spanId, String sampled, String parent) {
    // B3 trace ids may be 64-bit; W3C pads them on the left
    String trace = traceId.length() == 16 ? "0000000000000000" + traceId : traceId;
    if (!isId(trace, 32) || !isId(spanId, 16)) {
      return Optional.empty();
    }
    String parentId = parent != null && isId(parent, 16) ? parent : "";
    return Optional.of(new TraceContext(trace, spanId, !sampled.equals("0") && !sampled.equalsIgnoreCase("false"),
        parentId, ""));
  }

  /** {@code length} lower-case hex digits, not all zero; a loop, since every call makes two ids. */
  private static boolean isId(String value, int length) {
    if (value == null || value.length() != length) {
      return false;
    }
    boolean nonZero = false;
    for (int i = 0; i < length; i++) {
      char c = value.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
      nonZero |= c != '0';
    }
    return nonZero;
  }

  /** 32 random hex digits, not all zero: two random longs, the cheapest way to a W3C trace id. */
  private static String randomTraceId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high;
    long low;
    do {
      high = random.nextLong();
      low = random.nextLong();
    } while (high == 0 && low == 0);
    return HexFormat.of().toHexDigits(high) + HexFormat.of().toHexDigits(low);
  }

  /** 16 random hex digits, not all zero: a W3C span id. */
  private static String randomSpanId() {
    long id;
    do {
      id = ThreadLocalRandom.current().nextLong();
    } while (id == 0);
    return HexFormat.of().toHexDigits(id);
  }
}
