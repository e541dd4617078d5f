package dev.inmesh.internal.telemetry;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request through SLF4J (logger {@value #LOGGER}), in Envoy's access log format
 * language; the default is Envoy's default format, so existing log parsers keep working:
 *
 * <pre>
 * [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
 * %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
 * "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
 * </pre>
 *
 * <p>Supported commands: {@code START_TIME}, {@code REQ(h)} and {@code REQ(h?alt)}, {@code RESP(h)},
 * {@code PROTOCOL}, {@code RESPONSE_CODE}, {@code RESPONSE_FLAGS}, {@code BYTES_RECEIVED},
 * {@code BYTES_SENT}, {@code DURATION}, {@code UPSTREAM_HOST}, {@code UPSTREAM_CLUSTER},
 * {@code DOWNSTREAM_REMOTE_ADDRESS}, {@code DOWNSTREAM_PEER_URI_SAN}, {@code ROUTE_NAME}. An unknown
 * command is refused when the format is parsed, naming it. Missing values print {@code -}, as Envoy's.
 */
public final class AccessLog {
  public static final String LOGGER = "inmesh.access";
  public static final String ENVOY_DEFAULT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
      + "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
      + "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"";
  private static final Pattern COMMAND = Pattern.compile("%([A-Z_]+)(?:\\(([^)]*)\\))?%");
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
      .withZone(ZoneOffset.UTC);
  private static final List<String> COMMANDS = List.of("START_TIME", "REQ", "RESP", "PROTOCOL", "RESPONSE_CODE",
      "RESPONSE_FLAGS", "BYTES_RECEIVED", "BYTES_SENT", "DURATION", "UPSTREAM_HOST", "UPSTREAM_CLUSTER",
      "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_PEER_URI_SAN", "ROUTE_NAME");

  /** What one request was, as the transport saw it; a header function answers by lower-case name, null when absent. */
  public record Entry(Instant start, String protocol, int responseCode, String responseFlags, long bytesReceived,
      long bytesSent, long durationMillis, String upstreamHost, String upstreamCluster, String downstreamRemoteAddress,
      String downstreamPeerUriSan, String routeName, Function<String, String> requestHeader,
      Function<String, String> responseHeader) {}

  private final Logger log;
  private final List<Function<Entry, String>> parts;

  private AccessLog(Logger log, List<Function<Entry, String>> parts) {
    this.log = log;
    this.parts = parts;
  }

  /** Envoy's default format on the {@value #LOGGER} logger. */
  public static AccessLog envoyDefault() {
    return of(ENVOY_DEFAULT);
  }

  /** @throws IllegalArgumentException naming the first command the format uses that is not supported */
  public static AccessLog of(String format) {
    return new AccessLog(LoggerFactory.getLogger(LOGGER), parse(Objects.requireNonNull(format, "format")));
  }

  public boolean enabled() {
    return log.isInfoEnabled();
  }

  public void log(Entry entry) {
    if (log.isInfoEnabled()) {
      log.info(format(entry));
    }
  }

  public String format(Entry entry) {
    StringBuilder line = new StringBuilder();
    parts.forEach(part -> line.append(part.apply(entry)));
    return line.toString();
  }

  private static List<Function<Entry, String>> parse(String format) {
    List<Function<Entry, String>> parts = new ArrayList<>();
    Matcher matcher = COMMAND.matcher(format);
    int last = 0;
    while (matcher.find()) {
      String literal = format.substring(last, matcher.start());
      parts.add(e -> literal);
      parts.add(command(matcher.group(1), matcher.group(2), format));
      last = matcher.end();
    }
    String tail = format.substring(last);
    parts.add(e -> tail);
    return List.copyOf(parts);
  }

  private static Function<Entry, String> command(String name, String argument, String format) {
    if (!COMMANDS.contains(name)) {
      throw new IllegalArgumentException("access log format '" + format + "': %" + name + "% is not supported"
          + " (supported: " + COMMANDS + ")");
    }
    return switch (name) {
      case "START_TIME" -> e -> TIME.format(e.start());
      case "REQ" -> header(argument, true);
      case "RESP" -> header(argument, false);
      case "PROTOCOL" -> e -> dash(e.protocol());
      case "RESPONSE_CODE" -> e -> Integer.toString(e.responseCode());
      case "RESPONSE_FLAGS" -> e -> dash(e.responseFlags());
      case "BYTES_RECEIVED" -> e -> Long.toString(e.bytesReceived());
      case "BYTES_SENT" -> e -> Long.toString(e.bytesSent());
      case "DURATION" -> e -> Long.toString(e.durationMillis());
      case "UPSTREAM_HOST" -> e -> dash(e.upstreamHost());
      case "UPSTREAM_CLUSTER" -> e -> dash(e.upstreamCluster());
      case "DOWNSTREAM_REMOTE_ADDRESS" -> e -> dash(e.downstreamRemoteAddress());
      case "DOWNSTREAM_PEER_URI_SAN" -> e -> dash(e.downstreamPeerUriSan());
      default -> e -> dash(e.routeName());
    };
  }

  /** {@code REQ(X?Y)}: header X, else Y; {@code :path}, {@code :method}, {@code :authority} as pseudo-headers. */
  private static Function<Entry, String> header(String argument, boolean request) {
    if (argument == null || argument.isEmpty()) {
      throw new IllegalArgumentException("%" + (request ? "REQ" : "RESP") + "()% needs a header name");
    }
    String[] names = argument.toLowerCase(Locale.ROOT).split("\\?", 2);
    return e -> {
      Function<String, String> headers = request ? e.requestHeader() : e.responseHeader();
      for (String name : names) {
        String value = headers.apply(name);
        if (value != null) {
          return value;
        }
      }
      return "-";
    };
  }

  private static String dash(String value) {
    return value == null || value.isEmpty() ? "-" : value;
  }
}
