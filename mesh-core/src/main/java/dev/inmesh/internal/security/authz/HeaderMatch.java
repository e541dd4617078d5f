package dev.inmesh.internal.security.authz;

import dev.inmesh.internal.routing.StringMatcher;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Envoy's header matcher as RBAC uses it, missing-header rules included.
 *
 * @param name the header, lower-cased; {@code :method}, {@code :authority} and {@code :path} name
 *     those parts of the request
 * @param value how the value must look; empty means "the header is present"
 * @param invert whether the result is inverted; an inverted value matcher still does not match a
 *     missing header, while an inverted presence check does, as in Envoy
 * @param treatMissingAsEmpty whether a missing header is matched as the empty string
 */
public record HeaderMatch(String name, Optional<StringMatcher> value, boolean invert, boolean treatMissingAsEmpty) {
  public HeaderMatch {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("header name must not be empty");
    }
    name = name.toLowerCase(Locale.ROOT);
    Objects.requireNonNull(value, "value");
  }

  /** The header must be present. */
  public static HeaderMatch present(String name) {
    return new HeaderMatch(name, Optional.empty(), false, false);
  }

  /** The header must be present and its value must match. */
  public static HeaderMatch of(String name, StringMatcher value) {
    return new HeaderMatch(name, Optional.of(value), false, false);
  }

  public boolean matches(AuthzRequest request) {
    Optional<String> actual = request.header(name);
    if (actual.isEmpty() && !treatMissingAsEmpty) {
      return invert && value.isEmpty();
    }
    String candidate = actual.orElse("");
    boolean matched = value.map(m -> m.matches(candidate)).orElse(true);
    return matched != invert;
  }
}
