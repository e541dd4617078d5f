package dev.inmesh.routing;

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
