package dev.inmesh.internal.xds;

import com.google.re2j.PatternSyntaxException;
import dev.inmesh.internal.routing.StringMatcher;

/** Envoy string matchers to Inmesh's, for routes and RBAC alike; custom matchers are refused by name. */
final class Matchers {
  private Matchers() {}

  static StringMatcher stringMatcher(String resource, String field, io.envoyproxy.envoy.type.matcher.v3.StringMatcher matcher)
      throws XdsParseException {
    boolean ignoreCase = matcher.getIgnoreCase();
    return switch (matcher.getMatchPatternCase()) {
      case EXACT -> new StringMatcher.Exact(matcher.getExact(), ignoreCase);
      case PREFIX -> new StringMatcher.Prefix(matcher.getPrefix(), ignoreCase);
      case SUFFIX -> new StringMatcher.Suffix(matcher.getSuffix(), ignoreCase);
      case CONTAINS -> new StringMatcher.Contains(matcher.getContains(), ignoreCase);
      // Envoy documents that ignore_case has no effect on safe_regex.
      case SAFE_REGEX -> regex(resource, field + ".safe_regex", matcher.getSafeRegex().getRegex());
      case CUSTOM -> throw new XdsParseException(resource, field + ".custom",
          "custom string matcher '" + matcher.getCustom().getName() + "' is not supported");
      case MATCHPATTERN_NOT_SET -> throw new XdsParseException(resource, field, "no match pattern is set");
    };
  }

  static StringMatcher.Regex regex(String resource, String field, String regex) throws XdsParseException {
    try {
      return StringMatcher.Regex.of(regex);
    } catch (PatternSyntaxException e) {
      throw new XdsParseException(resource, field + ".regex", "invalid RE2 regex '" + regex + "': " + e.getDescription());
    }
  }
}
