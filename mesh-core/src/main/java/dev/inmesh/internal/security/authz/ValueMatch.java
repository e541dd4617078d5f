package dev.inmesh.internal.security.authz;

import dev.inmesh.internal.routing.StringMatcher;
import java.util.List;
import java.util.Objects;

/**
 * Envoy's {@code ValueMatcher} on a JSON value of a verified token's claims (strings, numbers,
 * booleans, lists and objects, as the {@code jwt_authn} filter's metadata holds them).
 */
public sealed interface ValueMatch {
  boolean matches(Object value);

  /** A string value the matcher accepts; numbers, booleans and lists are not strings and never match. */
  record StringValue(StringMatcher matcher) implements ValueMatch {
    public StringValue {
      Objects.requireNonNull(matcher, "matcher");
    }

    @Override
    public boolean matches(Object value) {
      return value instanceof String text && matcher.matches(text);
    }
  }

  /** A boolean value equal to {@code expected}. */
  record BoolValue(boolean expected) implements ValueMatch {
    @Override
    public boolean matches(Object value) {
      return value instanceof Boolean b && b == expected;
    }
  }

  /** Any value at all ({@code present_match}). */
  record Present() implements ValueMatch {
    @Override
    public boolean matches(Object value) {
      return value != null;
    }
  }

  /** A list with one element that {@code element} accepts. */
  record ListOneOf(ValueMatch element) implements ValueMatch {
    public ListOneOf {
      Objects.requireNonNull(element, "element");
    }

    @Override
    public boolean matches(Object value) {
      if (value instanceof List<?> list) {
        for (Object item : list) {
          if (element.matches(item)) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** One of several matchers. */
  record AnyOf(List<ValueMatch> matchers) implements ValueMatch {
    public AnyOf {
      matchers = List.copyOf(matchers);
      if (matchers.isEmpty()) {
        throw new IllegalArgumentException("or_match needs at least one matcher");
      }
    }

    @Override
    public boolean matches(Object value) {
      for (ValueMatch matcher : matchers) {
        if (matcher.matches(value)) {
          return true;
        }
      }
      return false;
    }
  }
}
