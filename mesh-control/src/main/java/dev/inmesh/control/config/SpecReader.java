package dev.inmesh.control.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A cursor over one YAML object that remembers which fields were read. Each read checks the type
 * and reports a problem with the full field path; {@link #finish()} reports every field nobody
 * read as unknown. Parsers read what they understand, call {@link #notHonoured} for valid Istio
 * fields that Inmesh accepts but does not enforce, {@link #failsClosed} for valid Istio that
 * Inmesh cannot evaluate and so enforces more strictly than written, and end with
 * {@code finish()}, so no field is ever dropped without a word.
 */
public final class SpecReader {
  /** How every {@link #failsClosed} warning starts, so that readers (meshctl analyze) can tell them apart. */
  public static final String FAILS_CLOSED = "enforced fail-closed by Inmesh: ";

  private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

  private final JsonNode node;
  private final String path;
  private final Diagnostics diagnostics;
  private final Set<String> read = new HashSet<>();

  public SpecReader(JsonNode node, String path, Diagnostics diagnostics) {
    this.node = node;
    this.path = path;
    this.diagnostics = diagnostics;
  }

  public String path() {
    return path;
  }

  public Diagnostics diagnostics() {
    return diagnostics;
  }

  public String pathOf(String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  public boolean has(String field) {
    JsonNode value = node.get(field);
    return value != null && !value.isNull();
  }

  public void error(String field, String message) {
    diagnostics.error(field == null ? path : pathOf(field), message);
  }

  public void warn(String field, String message) {
    diagnostics.warn(field == null ? path : pathOf(field), message);
  }

  /** Marks a valid Istio field as accepted but not enforced, with a warning when it is set. */
  public void notHonoured(String field, String why) {
    read.add(field);
    if (has(field)) {
      warn(field, "accepted but not enforced by Inmesh: " + why);
    }
  }

  /**
   * Warns that a field Inmesh cannot evaluate is enforced on the safe side: more is denied, less
   * allowed, than written. {@code outcome} says what happens instead.
   */
  public void failsClosed(String field, String outcome) {
    warn(field, FAILS_CLOSED + outcome);
  }

  /** Marks fields as read without looking at them (their meaning is handled elsewhere). */
  public void skip(String... fields) {
    Collections.addAll(read, fields);
  }

  private JsonNode take(String field) {
    read.add(field);
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value;
  }

  public Optional<String> string(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isValueNode() || value.isBinary()) {
      error(field, "must be a string, got " + describe(value));
      return Optional.empty();
    }
    return Optional.of(value.asText());
  }

  public String requiredString(String field) {
    Optional<String> value = string(field);
    if (value.isEmpty() || value.get().isEmpty()) {
      if (!has(field) || value.isPresent()) {
        error(field, "is required");
      }
      return "";
    }
    return value.get();
  }

  public Optional<Long> integer(String field, long min, long max) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    long number;
    if (value.isIntegralNumber()) {
      number = value.asLong();
    } else if (value.isTextual() && value.asText().matches("-?\\d+")) {
      number = Long.parseLong(value.asText());
    } else {
      error(field, "must be an integer, got " + describe(value));
      return Optional.empty();
    }
    if (number < min || number > max) {
      error(field, "must be between " + min + " and " + max + ", got " + number);
      return Optional.empty();
    }
    return Optional.of(number);
  }

  public Optional<Double> number(String field, double min, double max) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isNumber()) {
      error(field, "must be a number, got " + describe(value));
      return Optional.empty();
    }
    double number = value.asDouble();
    if (number < min || number > max) {
      error(field, "must be between " + trim(min) + " and " + trim(max) + ", got " + trim(number));
      return Optional.empty();
    }
    return Optional.of(number);
  }

  public Optional<Boolean> bool(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isBoolean()) {
      error(field, "must be true or false, got " + describe(value));
      return Optional.empty();
    }
    return Optional.of(value.asBoolean());
  }

  /** A duration in Istio's form: {@code 10s}, {@code 1.5s}, {@code 250ms}, {@code 1m30s}. */
  public Optional<Duration> duration(String field) {
    Optional<String> text = string(field);
    if (text.isEmpty()) {
      return Optional.empty();
    }
    Optional<Duration> parsed = parseDuration(text.get());
    if (parsed.isEmpty()) {
      error(field, "must be a duration such as 10s or 250ms, got '" + text.get() + "'");
    }
    return parsed;
  }

  /** Like {@link #duration} but also requires at least {@code min}. */
  public Optional<Duration> duration(String field, Duration min) {
    Optional<Duration> value = duration(field);
    if (value.isPresent() && value.get().compareTo(min) < 0) {
      error(field, "must be a valid duration greater than or equal to " + format(min) + ", got " + format(value.get()));
      return Optional.empty();
    }
    return value;
  }

  public <E extends Enum<E>> Optional<E> enumValue(String field, Class<E> type) {
    Optional<String> text = string(field);
    if (text.isEmpty()) {
      return Optional.empty();
    }
    for (E constant : type.getEnumConstants()) {
      if (constant.name().equals(text.get())) {
        return Optional.of(constant);
      }
    }
    List<String> allowed = new ArrayList<>();
    for (E constant : type.getEnumConstants()) {
      allowed.add(constant.name());
    }
    error(field, "Unsupported value: \"" + text.get() + "\": must be one of " + String.join(", ", allowed));
    return Optional.empty();
  }

  public Optional<SpecReader> object(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Optional.empty();
    }
    if (!value.isObject()) {
      error(field, "must be an object, got " + describe(value));
      return Optional.empty();
    }
    return Optional.of(new SpecReader(value, pathOf(field), diagnostics));
  }

  /** A list of objects; each element gets its own reader with an indexed path. */
  public List<SpecReader> list(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return List.of();
    }
    if (!value.isArray()) {
      error(field, "must be a list, got " + describe(value));
      return List.of();
    }
    List<SpecReader> result = new ArrayList<>();
    for (int i = 0; i < value.size(); i++) {
      JsonNode element = value.get(i);
      String elementPath = pathOf(field) + "[" + i + "]";
      if (!element.isObject()) {
        diagnostics.error(elementPath, "must be an object, got " + describe(element));
        continue;
      }
      result.add(new SpecReader(element, elementPath, diagnostics));
    }
    return result;
  }

  public List<String> stringList(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return List.of();
    }
    if (!value.isArray()) {
      error(field, "must be a list of strings, got " + describe(value));
      return List.of();
    }
    List<String> result = new ArrayList<>();
    for (int i = 0; i < value.size(); i++) {
      JsonNode element = value.get(i);
      Optional<String> colonEnded = colonEndedScalar(element);
      if (colonEnded.isPresent()) {
        result.add(colonEnded.get());
        continue;
      }
      if (!element.isValueNode() || element.isNull()) {
        diagnostics.error(pathOf(field) + "[" + i + "]", "must be a string, got " + describe(element));
        continue;
      }
      result.add(element.asText());
    }
    return result;
  }

  /**
   * In a flow sequence SnakeYAML reads an unquoted scalar that ends in a colon, such as the IPv6
   * address {@code 001:db8::}, as a one-key map with no value; Kubernetes' parser reads a string.
   */
  private static Optional<String> colonEndedScalar(JsonNode element) {
    if (element.isObject() && element.size() == 1) {
      Map.Entry<String, JsonNode> only = element.fields().next();
      if (only.getValue().isNull() || (only.getValue().isTextual() && only.getValue().asText().isEmpty())) {
        return Optional.of(only.getKey() + ":");
      }
    }
    return Optional.empty();
  }

  public Map<String, String> stringMap(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Map.of();
    }
    if (!value.isObject()) {
      error(field, "must be a map of strings, got " + describe(value));
      return Map.of();
    }
    Map<String, String> result = new LinkedHashMap<>();
    value.fields().forEachRemaining(entry -> {
      JsonNode v = entry.getValue();
      if (!v.isValueNode() || v.isNull()) {
        diagnostics.error(pathOf(field) + "." + entry.getKey(), "must be a string, got " + describe(v));
      } else {
        result.put(entry.getKey(), v.asText());
      }
    });
    return result;
  }

  /** A map whose values are objects, such as {@code headers: {end-user: {exact: jason}}}. */
  public Map<String, SpecReader> objectMap(String field) {
    JsonNode value = take(field);
    if (value == null) {
      return Map.of();
    }
    if (!value.isObject()) {
      error(field, "must be a map, got " + describe(value));
      return Map.of();
    }
    Map<String, SpecReader> result = new LinkedHashMap<>();
    value.fields().forEachRemaining(entry -> {
      String entryPath = pathOf(field) + "." + entry.getKey();
      if (!entry.getValue().isObject()) {
        diagnostics.error(entryPath, "must be an object, got " + describe(entry.getValue()));
      } else {
        result.put(entry.getKey(), new SpecReader(entry.getValue(), entryPath, diagnostics));
      }
    });
    return result;
  }

  /** Reports every field that no one read as unknown: the error names the field. */
  public void finish() {
    node.fieldNames().forEachRemaining(name -> {
      if (!read.contains(name)) {
        diagnostics.error(pathOf(name), "unknown field \"" + name + "\"");
      }
    });
  }

  public static Optional<Duration> parseDuration(String text) {
    String trimmed = text.trim();
    if (trimmed.isEmpty()) {
      return Optional.empty();
    }
    Matcher matcher = DURATION_PART.matcher(trimmed);
    int position = 0;
    double nanos = 0;
    while (position < trimmed.length()) {
      if (!matcher.find(position) || matcher.start() != position) {
        return Optional.empty();
      }
      double amount = Double.parseDouble(matcher.group(1));
      nanos += amount * switch (matcher.group(2)) {
        case "ns" -> 1d;
        case "us", "µs" -> 1e3;
        case "ms" -> 1e6;
        case "s" -> 1e9;
        case "m" -> 60e9;
        case "h" -> 3600e9;
        default -> throw new IllegalStateException(matcher.group(2));
      };
      position = matcher.end();
    }
    return Optional.of(Duration.ofNanos(Math.round(nanos)));
  }

  public static String format(Duration duration) {
    if (duration.toNanos() % 1_000_000_000L == 0) {
      return duration.toSeconds() + "s";
    }
    if (duration.toNanos() % 1_000_000L == 0) {
      return duration.toMillis() + "ms";
    }
    return duration.toNanos() + "ns";
  }

  private static String describe(JsonNode value) {
    if (value.isObject()) {
      return "an object";
    }
    if (value.isArray()) {
      return "a list";
    }
    if (value.isTextual()) {
      return "'" + value.asText() + "'";
    }
    return value.toString().toLowerCase(Locale.ROOT);
  }

  private static String trim(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }
}
