package dev.inmesh.http.client;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the short durations of annotations: {@code 250ms}, {@code 2s}, {@code 1m}. */
final class Durations {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)");

  private Durations() {}

  static Duration parse(String text, String where) {
    Matcher matcher = DURATION.matcher(text.trim());
    if (!matcher.matches()) {
      throw new IllegalArgumentException(where + ": timeout must look like 250ms, 2s or 1m, got '" + text + "'");
    }
    long amount = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      default -> Duration.ofMinutes(amount);
    };
  }
}
