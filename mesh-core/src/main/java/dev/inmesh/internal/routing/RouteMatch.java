package dev.inmesh.internal.routing;

import dev.inmesh.spi.RequestView;
import java.util.List;
import java.util.Optional;

/** When a route applies: a path matcher, header matchers and query matchers, all of which must hold. */
public record RouteMatch(StringMatcher path, List<HeaderMatch> headers, List<QueryMatch> queryParameters) {
  public RouteMatch {
    headers = List.copyOf(headers);
    queryParameters = List.copyOf(queryParameters);
  }

  public static final RouteMatch ANY = new RouteMatch(new StringMatcher.Prefix("/", false), List.of(), List.of());

  /** A header matcher; an empty matcher means "present". Pseudo-headers name request parts. */
  public record HeaderMatch(String name, Optional<StringMatcher> matcher, boolean invert) {
    boolean matches(RequestView request) {
      Optional<String> value = switch (name) {
        case ":method" -> Optional.of(request.method());
        case ":authority" -> Optional.of(request.header("host").orElse(request.host() + ":" + request.port()));
        case ":scheme" -> Optional.of(request.scheme());
        case ":path" -> Optional.of(request.path());
        default -> request.header(name);
      };
      boolean result = value.isPresent() && matcher.map(m -> m.matches(value.get())).orElse(true);
      return result != invert;
    }
  }

  /** A query parameter matcher; an empty matcher means "present". */
  public record QueryMatch(String name, Optional<StringMatcher> matcher) {
    boolean matches(RequestView request) {
      Optional<String> value = request.queryParameter(name);
      return value.isPresent() && matcher.map(m -> m.matches(value.get())).orElse(true);
    }
  }

  /**
   * Why this match does not take {@code request}: the first condition that fails, by the same
   * tests as {@link #matches}; empty when it matches. For explanations only: the request path calls
   * {@link #matches} and never builds these strings.
   */
  public Optional<String> mismatch(RequestView request) {
    if (!path.matches(request.path())) {
      return Optional.of("path " + request.path() + " does not match " + describe(path));
    }
    for (HeaderMatch header : headers) {
      if (!header.matches(request)) {
        return Optional.of("header " + header.name() + (header.invert() ? " must not match " : " does not match ")
            + header.matcher().map(RouteMatch::describe).orElse("present"));
      }
    }
    for (QueryMatch query : queryParameters) {
      if (!query.matches(request)) {
        return Optional.of("query parameter " + query.name() + " does not match "
            + query.matcher().map(RouteMatch::describe).orElse("present"));
      }
    }
    return Optional.empty();
  }

  /** {@code prefix /api}, {@code exact GET}, {@code regex /v[0-9]+/.*}. */
  public static String describe(StringMatcher matcher) {
    if (matcher instanceof StringMatcher.Exact m) {
      return "exact " + m.value();
    }
    if (matcher instanceof StringMatcher.Prefix m) {
      return "prefix " + m.value();
    }
    if (matcher instanceof StringMatcher.Suffix m) {
      return "suffix " + m.value();
    }
    if (matcher instanceof StringMatcher.Contains m) {
      return "contains " + m.value();
    }
    return "regex " + ((StringMatcher.Regex) matcher).pattern().pattern();
  }

  public boolean matches(RequestView request) {
    if (!path.matches(request.path())) {
      return false;
    }
    for (HeaderMatch header : headers) {
      if (!header.matches(request)) {
        return false;
      }
    }
    for (QueryMatch query : queryParameters) {
      if (!query.matches(request)) {
        return false;
      }
    }
    return true;
  }
}
