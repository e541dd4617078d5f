package dev.inmesh.control.translate.authz;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.OrMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.util.List;

/**
 * Istio's value patterns ({@code exact}, {@code prefix*}, {@code *suffix}, {@code *}) turned into
 * Envoy matchers, in the exact shapes Istio's RBAC generator emits so that configs compare equal.
 */
final class RbacMatchers {
  static final String SPIFFE_PREFIX = "spiffe://";
  static final String JWT_FILTER = "envoy.filters.http.jwt_authn";
  static final String URI_TEMPLATE_EXTENSION = "uri-template";
  /** Go's regexp.QuoteMeta escapes exactly these; Java's Pattern.quote would write \Q..\E, which RE2 reads differently. */
  private static final String REGEX_META = "\\.+*?()|[]{}^$";

  private RbacMatchers() {}

  /** One of Istio's four pattern forms, checked in Istio's order: {@code *}, then suffix, then prefix. */
  record Pattern(Kind kind, String text) {
    enum Kind { EXACT, PREFIX, SUFFIX, ANY }

    static Pattern of(String value) {
      if (value.equals("*")) {
        return new Pattern(Kind.ANY, "");
      }
      if (value.startsWith("*")) {
        return new Pattern(Kind.SUFFIX, value.substring(1));
      }
      if (value.endsWith("*")) {
        return new Pattern(Kind.PREFIX, value.substring(0, value.length() - 1));
      }
      return new Pattern(Kind.EXACT, value);
    }
  }

  static String quoteMeta(String text) {
    StringBuilder quoted = new StringBuilder(text.length() + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (REGEX_META.indexOf(c) >= 0) {
        quoted.append('\\');
      }
      quoted.append(c);
    }
    return quoted.toString();
  }

  static StringMatcher regex(String regex) {
    return StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(regex)).build();
  }

  static StringMatcher exact(String value) {
    return StringMatcher.newBuilder().setExact(value).build();
  }

  /** {@code *} becomes "any non-empty value", the form Istio uses where there is no presence matcher. */
  static StringMatcher string(String value) {
    return string(value, "");
  }

  /** As {@link #string(String)}, with {@code prefix} put in front of the value (Istio's {@code spiffe://}). */
  static StringMatcher string(String value, String prefix) {
    Pattern pattern = Pattern.of(value);
    return switch (pattern.kind()) {
      case ANY -> regex(".+");
      case EXACT -> exact(prefix + pattern.text());
      case PREFIX -> StringMatcher.newBuilder().setPrefix(prefix + pattern.text()).build();
      case SUFFIX -> prefix.isEmpty()
          ? StringMatcher.newBuilder().setSuffix(pattern.text()).build()
          : regex(quoteMeta(prefix) + ".*" + quoteMeta(pattern.text()));
    };
  }

  /** A header condition; {@code *} means "present", which is what Istio emits for headers. */
  static HeaderMatcher header(String name, String value, boolean ignoreCase) {
    HeaderMatcher.Builder header = HeaderMatcher.newBuilder().setName(name);
    Pattern pattern = Pattern.of(value);
    StringMatcher.Builder match = StringMatcher.newBuilder();
    switch (pattern.kind()) {
      case ANY -> {
        return header.setPresentMatch(true).build();
      }
      case EXACT -> match.setExact(pattern.text());
      case PREFIX -> match.setPrefix(pattern.text());
      case SUFFIX -> match.setSuffix(pattern.text());
      default -> throw new AssertionError(pattern);
    }
    if (ignoreCase) {
      match.setIgnoreCase(true);
    }
    return header.setStringMatch(match).build();
  }

  /** Principal names carry the SPIFFE URI; Istio principals are {@code <td>/ns/<ns>/sa/<sa>}. */
  static Principal principalName(StringMatcher matcher) {
    return Principal.newBuilder()
        .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(matcher))
        .build();
  }

  static Principal principal(String value) {
    return principalName(string(value, SPIFFE_PREFIX));
  }

  /** A namespace is the segment after {@code /ns/} of the peer's SPIFFE ID. */
  static Principal namespace(String value) {
    Pattern pattern = Pattern.of(value);
    String segment = switch (pattern.kind()) {
      case ANY -> ".*";
      case EXACT -> quoteMeta(pattern.text());
      case PREFIX -> quoteMeta(pattern.text()) + ".*";
      case SUFFIX -> ".*" + quoteMeta(pattern.text());
    };
    return principalName(regex(".*/ns/" + segment + "/.*"));
  }

  /**
   * {@code <ns>/<sa>} or {@code <sa>} (in the policy's namespace). The regex also accepts SPIFFE IDs
   * with extra path segments around {@code sa/<name>}, as Istio's does.
   */
  static Principal serviceAccount(String value, String policyNamespace) {
    int slash = value.indexOf('/');
    String namespace = slash < 0 ? policyNamespace : value.substring(0, slash);
    String account = slash < 0 ? value : value.substring(slash + 1);
    return principalName(regex("spiffe://.+/ns/" + quoteMeta(namespace) + "/(.+/|)sa/" + quoteMeta(account)
        + "(/.+)?"));
  }

  /** A trust domain is the authority of the peer's SPIFFE ID. */
  static Principal trustDomain(String value) {
    Pattern pattern = Pattern.of(value);
    return switch (pattern.kind()) {
      case EXACT -> principalName(StringMatcher.newBuilder().setPrefix(SPIFFE_PREFIX + pattern.text() + "/").build());
      case PREFIX -> principalName(regex("spiffe://" + quoteMeta(pattern.text()) + "[^/]*/.*"));
      case SUFFIX -> principalName(regex("spiffe://[^/]*" + quoteMeta(pattern.text()) + "/.*"));
      case ANY -> principalName(regex("spiffe://[^/]+/.*"));
    };
  }

  /**
   * A request principal is {@code <iss>/<sub>} of a verified JWT, split at the last {@code /} because
   * issuers are usually URLs. Istio matches the two claims in the JWT filter's metadata separately.
   */
  static Principal requestPrincipal(String value) {
    Pattern pattern = Pattern.of(value);
    String text = pattern.text();
    int slash = text.lastIndexOf('/');
    StringMatcher iss;
    StringMatcher sub;
    switch (pattern.kind()) {
      case ANY -> {
        iss = regex(".+");
        sub = regex(".+");
      }
      case EXACT -> {
        iss = exact(slash < 0 ? text : text.substring(0, slash));
        sub = exact(slash < 0 ? "" : text.substring(slash + 1));
      }
      case PREFIX -> {
        if (slash < 0) {
          iss = StringMatcher.newBuilder().setPrefix(text).build();
          sub = regex(".+");
        } else {
          iss = exact(text.substring(0, slash));
          String subPrefix = text.substring(slash + 1);
          sub = subPrefix.isEmpty() ? regex(".+") : StringMatcher.newBuilder().setPrefix(subPrefix).build();
        }
      }
      case SUFFIX -> {
        if (slash < 0) {
          iss = regex(".+");
          sub = StringMatcher.newBuilder().setSuffix(text).build();
        } else {
          String issSuffix = text.substring(0, slash);
          iss = issSuffix.isEmpty() ? regex(".+") : StringMatcher.newBuilder().setSuffix(issSuffix).build();
          sub = exact(text.substring(slash + 1));
        }
      }
      default -> throw new AssertionError(pattern);
    }
    return Principal.newBuilder().setAndIds(Principal.Set.newBuilder()
        .addIds(Principal.newBuilder().setMetadata(jwtClaim(List.of("iss"), ValueMatcher.newBuilder().setStringMatch(iss))))
        .addIds(Principal.newBuilder().setMetadata(jwtClaim(List.of("sub"), ValueMatcher.newBuilder().setStringMatch(sub)))))
        .build();
  }

  /**
   * A claim of the verified JWT matches when it equals one of the values, or, for a list claim such
   * as {@code aud}, when one of its elements does.
   */
  static Principal claim(List<String> path, List<String> values) {
    ValueMatcher anyValue = orOfStrings(values);
    ValueMatcher matcher = ValueMatcher.newBuilder().setOrMatch(OrMatcher.newBuilder()
            .addValueMatchers(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(anyValue)))
            .addValueMatchers(anyValue))
        .build();
    return Principal.newBuilder().setMetadata(jwtClaim(path, matcher)).build();
  }

  private static MetadataMatcher jwtClaim(List<String> claimPath, ValueMatcher.Builder value) {
    return jwtClaim(claimPath, value.build());
  }

  private static MetadataMatcher jwtClaim(List<String> claimPath, ValueMatcher value) {
    MetadataMatcher.Builder metadata = MetadataMatcher.newBuilder().setFilter(JWT_FILTER)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("payload"));
    for (String key : claimPath) {
      metadata.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(key));
    }
    return metadata.setValue(value).build();
  }

  /** Envoy dynamic metadata of another filter ({@code experimental.envoy.filters.<filter>[<key>]...}). */
  static Permission filterMetadata(String filter, List<String> path, List<String> values) {
    MetadataMatcher.Builder metadata = MetadataMatcher.newBuilder().setFilter(filter);
    for (String key : path) {
      metadata.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(key));
    }
    return Permission.newBuilder().setMetadata(metadata.setValue(orOfStrings(values))).build();
  }

  private static ValueMatcher orOfStrings(List<String> values) {
    OrMatcher.Builder or = OrMatcher.newBuilder();
    for (String value : values) {
      or.addValueMatchers(ValueMatcher.newBuilder().setStringMatch(string(value)));
    }
    return ValueMatcher.newBuilder().setOrMatch(or).build();
  }

  /** An address or a CIDR range; a bare address is a /32 (IPv4) or /128 (IPv6) range. */
  static CidrRange cidr(String value) {
    int slash = value.indexOf('/');
    String address = slash < 0 ? value : value.substring(0, slash);
    int bits = slash < 0 ? (address.contains(":") ? 128 : 32) : Integer.parseInt(value.substring(slash + 1));
    return CidrRange.newBuilder().setAddressPrefix(address).setPrefixLen(UInt32Value.of(bits)).build();
  }

  static boolean isPathTemplate(String path) {
    return path.contains("{*}") || path.contains("{**}");
  }

  /**
   * Paths: exact, {@code prefix*}, {@code *suffix}, {@code *} (any non-empty path), or a template with
   * {@code {*}} (one segment) and {@code {**}} (the rest), which Envoy's uri_template extension
   * matches with {@code *} and {@code **}.
   */
  static Permission path(String value) {
    if (isPathTemplate(value)) {
      String template = value.replace("{**}", "**").replace("{*}", "*");
      return Permission.newBuilder().setUriTemplate(TypedExtensionConfig.newBuilder()
              .setName(URI_TEMPLATE_EXTENSION)
              .setTypedConfig(Any.pack(UriTemplateMatchConfig.newBuilder().setPathTemplate(template).build())))
          .build();
    }
    return Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(string(value))).build();
  }
}
