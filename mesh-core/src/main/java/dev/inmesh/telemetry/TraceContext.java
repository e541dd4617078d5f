package dev.inmesh.telemetry;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * W3C trace context: the trace a request belongs to and the span that sent it. Inbound adapters
 * read it from {@code traceparent} (or B3: {@code b3}, {@code X-B3-TraceId}/{@code X-B3-SpanId}/
 * {@code X-B3-Sampled}), start one when there is none, and make it {@link #current()} for the
 * handler's thread; outbound calls made on that thread send a {@link #child()} of it, so one trace
 * id runs through every hop, HTTP or gRPC.
 *
 * @param traceId 32 lower-case hex digits, not all zero
 * @param spanId 16 lower-case hex digits, not all zero
 */
public record TraceContext(String traceId, String spanId, boolean sampled) {
  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";
  private static final Pattern TRACEPARENT_VALUE =
      Pattern.compile("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?");
  private static final Pattern HEX = Pattern.compile("[0-9a-f]+");
  private static final ThreadLocal<TraceContext> CURRENT = new ThreadLocal<>();

  public TraceContext {
    if (!isId(traceId, 32) || !isId(spanId, 16)) {
      throw new IllegalArgumentException("not a W3C trace and span id: " + traceId + " " + spanId);
    }
  }

  /** A new trace. */
  public static TraceContext root() {
    return new TraceContext(randomTraceId(), randomSpanId(), true);
  }

  /** The same trace, a new span: what a call made inside this one sends. */
  public TraceContext child() {
    return new TraceContext(traceId, randomSpanId(), sampled);
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
        return Optional.of(new TraceContext(matcher.group(2), matcher.group(3), sampled));
      }
    }
    String b3 = header.apply("b3");
    if (b3 != null) {
      String[] parts = b3.trim().toLowerCase(Locale.ROOT).split("-");
      if (parts.length >= 2) {
        return b3(parts[0], parts[1], parts.length > 2 ? parts[2] : "1");
      }
    }
    String traceId = header.apply("x-b3-traceid");
    String spanId = header.apply("x-b3-spanid");
    if (traceId != null && spanId != null) {
      String sampled = header.apply("x-b3-sampled");
      return b3(traceId.trim().toLowerCase(Locale.ROOT), spanId.trim().toLowerCase(Locale.ROOT), sampled == null ? "1" : sampled);
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

  private static Optional<TraceContext> b3(String traceId, String spanId, String sampled) {
    // B3 trace ids may be 64-bit; W3C pads them on the left
    String trace = traceId.length() == 16 ? "0000000000000000" + traceId : traceId;
    if (!isId(trace, 32) || !isId(spanId, 16)) {
      return Optional.empty();
    }
    return Optional.of(new TraceContext(trace, spanId, !sampled.equals("0")));
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
