package dev.inmesh.internal.security.authz;

import com.google.re2j.Pattern;
import dev.inmesh.internal.routing.StringMatcher;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * AuthorizationPolicy fields written as the model, in the shapes Istio's RBAC builder emits them
 * (see istio-samples/authz-builder-oracle): a value list becomes an {@code Or}, a {@code not…} list
 * a {@code Not(Or)}, a rule an {@code And} of its fields.
 */
final class IstioRules {
  private IstioRules() {}

  /** Istio's wildcards: "x*" is a prefix, "*x" a suffix, "*" anything, else exact. */
  static StringMatcher value(String value) {
    if (value.equals("*")) {
      return StringMatcher.Regex.of(".+");
    }
    if (value.endsWith("*")) {
      return new StringMatcher.Prefix(value.substring(0, value.length() - 1), false);
    }
    if (value.startsWith("*")) {
      return new StringMatcher.Suffix(value.substring(1), false);
    }
    return new StringMatcher.Exact(value, false);
  }

  /** Istio prefixes principals with spiffe:// and writes a suffix as a regex. */
  static Principal principals(String... values) {
    return orIds(values, v -> new Principal.Authenticated(java.util.Optional.of(
        v.equals("*") ? StringMatcher.Regex.of(".+")
            : v.endsWith("*") ? new StringMatcher.Prefix("spiffe://" + v.substring(0, v.length() - 1), false)
            : v.startsWith("*") ? StringMatcher.Regex.of("spiffe://.*" + Pattern.quote(v.substring(1)))
            : new StringMatcher.Exact("spiffe://" + v, false))));
  }

  static Principal namespaces(String... values) {
    return orIds(values, ns -> new Principal.Authenticated(java.util.Optional.of(
        StringMatcher.Regex.of(".*/ns/" + Pattern.quote(ns) + "/.*"))));
  }

  static Principal ipBlocks(String... values) {
    return orIds(values, v -> new Principal.DirectRemoteIp(CidrRange.of(v)));
  }

  static Principal remoteIpBlocks(String... values) {
    return orIds(values, v -> new Principal.RemoteIp(CidrRange.of(v)));
  }

  /** A {@code when} on {@code request.headers[name]}. */
  static Principal requestHeader(String name, String... values) {
    return orIds(values, v -> new Principal.Header(v.equals("*") ? HeaderMatch.present(name) : HeaderMatch.of(name, value(v))));
  }

  static Principal not(Principal id) {
    return new Principal.Not(id);
  }

  static Permission methods(String... values) {
    return orRules(values, v -> new Permission.Header(v.equals("*") ? HeaderMatch.present(":method") : HeaderMatch.of(":method", value(v))));
  }

  static Permission hosts(String... values) {
    return orRules(values, v -> new Permission.Header(v.equals("*") ? HeaderMatch.present(":authority")
        : HeaderMatch.of(":authority", ignoreCase(value(v)))));
  }

  static Permission paths(String... values) {
    return orRules(values, v -> new Permission.UrlPath(value(v)));
  }

  static Permission ports(Integer... values) {
    return new Permission.Or(Arrays.stream(values).map(p -> (Permission) new Permission.DestinationPort(p)).toList());
  }

  static Permission not(Permission rule) {
    return new Permission.Not(rule);
  }

  /** One rule: everything in {@code to} and everything in {@code from} must hold; nothing means any. */
  static Policy rule(String name, List<Permission> to, List<Principal> from) {
    return new Policy(name,
        new Permission.And(to.isEmpty() ? List.of(new Permission.Any()) : to),
        new Principal.And(from.isEmpty() ? List.of(new Principal.Any()) : from));
  }

  static RbacEngine allow(Policy... policies) {
    return new RbacEngine(RbacEngine.Action.ALLOW, List.of(policies));
  }

  static RbacEngine deny(Policy... policies) {
    return new RbacEngine(RbacEngine.Action.DENY, List.of(policies));
  }

  static AuthorizationEngine engines(RbacEngine... engines) {
    return new AuthorizationEngine(List.of(engines), List.of());
  }

  private static StringMatcher ignoreCase(StringMatcher matcher) {
    if (matcher instanceof StringMatcher.Exact e) {
      return new StringMatcher.Exact(e.value(), true);
    }
    if (matcher instanceof StringMatcher.Prefix p) {
      return new StringMatcher.Prefix(p.value(), true);
    }
    if (matcher instanceof StringMatcher.Suffix s) {
      return new StringMatcher.Suffix(s.value(), true);
    }
    return matcher;
  }

  private static Principal orIds(String[] values, Function<String, Principal> each) {
    return new Principal.Or(Arrays.stream(values).map(each).toList());
  }

  private static Permission orRules(String[] values, Function<String, Permission> each) {
    return new Permission.Or(Arrays.stream(values).map(each).toList());
  }
}
