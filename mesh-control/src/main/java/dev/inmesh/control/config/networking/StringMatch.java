package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecReader;
import java.util.Optional;

/** Istio's StringMatch: exactly one of exact, prefix or regex (RE2 syntax). */
public record StringMatch(Type type, String value) {
  public enum Type { EXACT, PREFIX, REGEX }

  public static StringMatch exact(String value) {
    return new StringMatch(Type.EXACT, value);
  }

  /** Whether {@code value} matches, as Envoy matches it: a regex must match the whole value. */
  public boolean matches(String value) {
    return switch (type) {
      case EXACT -> value.equals(this.value);
      case PREFIX -> value.startsWith(this.value);
      case REGEX -> com.google.re2j.Pattern.compile(this.value).matches(value);
    };
  }

  static Optional<StringMatch> read(SpecReader reader) {
    Optional<String> exact = reader.string("exact");
    Optional<String> prefix = reader.string("prefix");
    Optional<String> regex = reader.string("regex");
    reader.finish();
    int set = (exact.isPresent() ? 1 : 0) + (prefix.isPresent() ? 1 : 0) + (regex.isPresent() ? 1 : 0);
    if (set > 1) {
      reader.error(null, "only one of exact, prefix or regex may be set");
      return Optional.empty();
    }
    if (exact.isPresent()) {
      return Optional.of(new StringMatch(Type.EXACT, exact.get()));
    }
    if (prefix.isPresent()) {
      return Optional.of(new StringMatch(Type.PREFIX, prefix.get()));
    }
    if (regex.isPresent()) {
      try {
        com.google.re2j.Pattern.compile(regex.get());
      } catch (com.google.re2j.PatternSyntaxException e) {
        reader.error("regex", "invalid RE2 regular expression '" + regex.get() + "': " + e.getDescription());
        return Optional.empty();
      }
      return Optional.of(new StringMatch(Type.REGEX, regex.get()));
    }
    return Optional.empty();
  }
}
