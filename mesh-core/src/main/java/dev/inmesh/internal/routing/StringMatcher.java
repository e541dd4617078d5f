package dev.inmesh.internal.routing;

import com.google.re2j.Pattern;
import java.util.Objects;

/** Envoy's string matchers, as routes use them for paths, headers and query parameters. */
public sealed interface StringMatcher {
  boolean matches(String value);

  record Exact(String value, boolean ignoreCase) implements StringMatcher {
    public Exact {
      Objects.requireNonNull(value, "value");
    }

    @Override
    public boolean matches(String candidate) {
      return ignoreCase ? value.equalsIgnoreCase(candidate) : value.equals(candidate);
    }
  }

  record Prefix(String value, boolean ignoreCase) implements StringMatcher {
    public Prefix {
      Objects.requireNonNull(value, "value");
    }

    @Override
    public boolean matches(String candidate) {
      return candidate.regionMatches(ignoreCase, 0, value, 0, value.length());
    }
  }

  record Suffix(String value, boolean ignoreCase) implements StringMatcher {
    @Override
    public boolean matches(String candidate) {
      return candidate.length() >= value.length()
          && candidate.regionMatches(ignoreCase, candidate.length() - value.length(), value, 0, value.length());
    }
  }

  record Contains(String value, boolean ignoreCase) implements StringMatcher {
    @Override
    public boolean matches(String candidate) {
      return ignoreCase ? candidate.toLowerCase(java.util.Locale.ROOT).contains(value.toLowerCase(java.util.Locale.ROOT))
          : candidate.contains(value);
    }
  }

  /** A full match in RE2 syntax, as Envoy's safe_regex. */
  record Regex(Pattern pattern) implements StringMatcher {
    public static Regex of(String regex) {
      return new Regex(Pattern.compile(regex));
    }

    @Override
    public boolean matches(String candidate) {
      return pattern.matches(candidate);
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Regex r && r.pattern.pattern().equals(pattern.pattern());
    }

    @Override
    public int hashCode() {
      return pattern.pattern().hashCode();
    }
  }
}
