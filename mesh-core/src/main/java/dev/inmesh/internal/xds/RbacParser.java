package dev.inmesh.internal.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.inmesh.internal.routing.StringMatcher;
import dev.inmesh.internal.security.authz.CidrRange;
import dev.inmesh.internal.security.authz.HeaderMatch;
import dev.inmesh.internal.security.authz.PathTemplate;
import dev.inmesh.internal.security.authz.Permission;
import dev.inmesh.internal.security.authz.Policy;
import dev.inmesh.internal.security.authz.Principal;
import dev.inmesh.internal.security.authz.RbacEngine;
import dev.inmesh.internal.security.authz.ValueMatch;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads the HTTP RBAC filter config into the transport-neutral model of
 * {@code dev.inmesh.internal.security.authz}. Whatever the engine cannot evaluate is refused with the field
 * that holds it: a matcher that could never match would, under a {@code not}, allow.
 */
final class RbacParser {
  static final String JWT_FILTER = "envoy.filters.http.jwt_authn";
  private static final String URI_TEMPLATE_TYPE = TypedConfigs.url(TypedConfigs.URI_TEMPLATE_MATCH_CONFIG);
  // The pseudo-headers an AuthzRequest carries; any other (:scheme, :protocol) would never match.
  private static final Set<String> PSEUDO_HEADERS = Set.of(":method", ":authority", ":path");

  private RbacParser() {}

  /** One filter: the rules it enforces and the shadow (dry-run) rules it only evaluates; either may be absent. */
  record Parsed(Optional<RbacEngine> rules, Optional<RbacEngine> shadowRules) {}

  static Parsed parse(String resource, String field, RBAC filter) throws XdsParseException {
    if (filter.hasMatcher()) {
      throw new XdsParseException(resource, field + ".matcher", "the unified matcher API is not supported; use rules");
    }
    if (filter.hasShadowMatcher()) {
      throw new XdsParseException(resource, field + ".shadow_matcher", "the unified matcher API is not supported; use shadow_rules");
    }
    // rules_stat_prefix, shadow_rules_stat_prefix and track_per_rule_stats only name statistics.
    Optional<RbacEngine> rules = filter.hasRules()
        ? Optional.of(engine(resource, field + ".rules", filter.getRules())) : Optional.empty();
    Optional<RbacEngine> shadow = filter.hasShadowRules()
        ? Optional.of(engine(resource, field + ".shadow_rules", filter.getShadowRules())) : Optional.empty();
    return new Parsed(rules, shadow);
  }

  static RbacEngine engine(String resource, String field, io.envoyproxy.envoy.config.rbac.v3.RBAC rbac)
      throws XdsParseException {
    RbacEngine.Action action = switch (rbac.getAction()) {
      case ALLOW -> RbacEngine.Action.ALLOW;
      case DENY -> RbacEngine.Action.DENY;
      case LOG -> RbacEngine.Action.LOG;
      default -> throw new XdsParseException(resource, field + ".action", "unknown action " + rbac.getActionValue());
    };
    if (rbac.hasAuditLoggingOptions()) {
      throw new XdsParseException(resource, field + ".audit_logging_options", "RBAC audit loggers are not supported");
    }
    // Envoy keeps policies in a map sorted by name, and so decides by the first name that matches.
    List<Policy> policies = new ArrayList<>();
    for (Map.Entry<String, io.envoyproxy.envoy.config.rbac.v3.Policy> entry : new TreeMap<>(rbac.getPoliciesMap()).entrySet()) {
      policies.add(policy(resource, field + ".policies[" + entry.getKey() + "]", entry.getKey(), entry.getValue()));
    }
    return new RbacEngine(action, policies);
  }

  private static Policy policy(String resource, String field, String name, io.envoyproxy.envoy.config.rbac.v3.Policy policy)
      throws XdsParseException {
    if (name.isEmpty()) {
      throw new XdsParseException(resource, field, "a policy needs a name");
    }
    if (policy.hasCondition() || policy.hasCheckedCondition()) {
      throw new XdsParseException(resource, field + (policy.hasCondition() ? ".condition" : ".checked_condition"),
          "CEL conditions are not supported");
    }
    if (policy.getPermissionsCount() == 0 || policy.getPrincipalsCount() == 0) {
      throw new XdsParseException(resource, field, "a policy needs at least one permission and one principal");
    }
    List<Permission> permissions = new ArrayList<>();
    for (int i = 0; i < policy.getPermissionsCount(); i++) {
      permissions.add(permission(resource, field + ".permissions[" + i + "]", policy.getPermissions(i)));
    }
    List<Principal> principals = new ArrayList<>();
    for (int i = 0; i < policy.getPrincipalsCount(); i++) {
      principals.add(principal(resource, field + ".principals[" + i + "]", policy.getPrincipals(i)));
    }
    return new Policy(name,
        permissions.size() == 1 ? permissions.get(0) : new Permission.Or(permissions),
        principals.size() == 1 ? principals.get(0) : new Principal.Or(principals));
  }

  // Deprecated fields (metadata, source_ip, the old header matchers) are still sent by control planes; read or refuse them by name.
  @SuppressWarnings("deprecation")
  private static Permission permission(String resource, String field, io.envoyproxy.envoy.config.rbac.v3.Permission rule)
      throws XdsParseException {
    return switch (rule.getRuleCase()) {
      case AND_RULES -> new Permission.And(permissions(resource, field + ".and_rules.rules", rule.getAndRules().getRulesList()));
      case OR_RULES -> new Permission.Or(permissions(resource, field + ".or_rules.rules", rule.getOrRules().getRulesList()));
      case NOT_RULE -> new Permission.Not(permission(resource, field + ".not_rule", rule.getNotRule()));
      case ANY -> {
        if (!rule.getAny()) {
          throw new XdsParseException(resource, field + ".any", "must be true");
        }
        yield new Permission.Any();
      }
      case HEADER -> new Permission.Header(header(resource, field + ".header", rule.getHeader()));
      case URL_PATH -> new Permission.UrlPath(path(resource, field + ".url_path", rule.getUrlPath()));
      case URI_TEMPLATE -> new Permission.UrlTemplate(uriTemplate(resource, field + ".uri_template", rule.getUriTemplate()));
      case DESTINATION_IP -> new Permission.DestinationIp(cidr(resource, field + ".destination_ip", rule.getDestinationIp()));
      case DESTINATION_PORT -> {
        if (rule.getDestinationPort() > 65535) {
          throw new XdsParseException(resource, field + ".destination_port", "must be at most 65535, got " + rule.getDestinationPort());
        }
        yield new Permission.DestinationPort(rule.getDestinationPort());
      }
      case DESTINATION_PORT_RANGE -> {
        int start = rule.getDestinationPortRange().getStart();
        int end = rule.getDestinationPortRange().getEnd();
        if (start < 0 || end > 65536 || start > end) {
          throw new XdsParseException(resource, field + ".destination_port_range",
              "must lie in [0, 65536) with start <= end, got [" + start + ", " + end + ")");
        }
        yield new Permission.DestinationPortRange(start, end);
      }
      case REQUESTED_SERVER_NAME -> new Permission.RequestedServerName(
          Matchers.stringMatcher(resource, field + ".requested_server_name", rule.getRequestedServerName()));
      case METADATA -> throw metadata(resource, field + ".metadata", rule.getMetadata());
      case SOURCED_METADATA -> throw metadata(resource, field + ".sourced_metadata", rule.getSourcedMetadata().getMetadataMatcher());
      case MATCHER -> throw new XdsParseException(resource, field + ".matcher",
          "extension matcher '" + rule.getMatcher().getName() + "' is not supported");
      case RULE_NOT_SET -> throw new XdsParseException(resource, field, "no rule is set");
    };
  }

  private static List<Permission> permissions(String resource, String field, List<io.envoyproxy.envoy.config.rbac.v3.Permission> rules)
      throws XdsParseException {
    if (rules.isEmpty()) {
      throw new XdsParseException(resource, field, "needs at least one rule");
    }
    List<Permission> parsed = new ArrayList<>();
    for (int i = 0; i < rules.size(); i++) {
      parsed.add(permission(resource, field + "[" + i + "]", rules.get(i)));
    }
    return parsed;
  }

  // Deprecated fields (metadata, source_ip, the old header matchers) are still sent by control planes; read or refuse them by name.
  @SuppressWarnings("deprecation")
  private static Principal principal(String resource, String field, io.envoyproxy.envoy.config.rbac.v3.Principal id)
      throws XdsParseException {
    return switch (id.getIdentifierCase()) {
      case AND_IDS -> new Principal.And(principals(resource, field + ".and_ids.ids", id.getAndIds().getIdsList()));
      case OR_IDS -> new Principal.Or(principals(resource, field + ".or_ids.ids", id.getOrIds().getIdsList()));
      case NOT_ID -> new Principal.Not(principal(resource, field + ".not_id", id.getNotId()));
      case ANY -> {
        if (!id.getAny()) {
          throw new XdsParseException(resource, field + ".any", "must be true");
        }
        yield new Principal.Any();
      }
      case AUTHENTICATED -> new Principal.Authenticated(id.getAuthenticated().hasPrincipalName()
          ? Optional.of(Matchers.stringMatcher(resource, field + ".authenticated.principal_name", id.getAuthenticated().getPrincipalName()))
          : Optional.empty());
      case SOURCE_IP -> new Principal.SourceIp(cidr(resource, field + ".source_ip", id.getSourceIp()));
      case DIRECT_REMOTE_IP -> new Principal.DirectRemoteIp(cidr(resource, field + ".direct_remote_ip", id.getDirectRemoteIp()));
      case REMOTE_IP -> new Principal.RemoteIp(cidr(resource, field + ".remote_ip", id.getRemoteIp()));
      case HEADER -> new Principal.Header(header(resource, field + ".header", id.getHeader()));
      case URL_PATH -> new Principal.UrlPath(path(resource, field + ".url_path", id.getUrlPath()));
      case METADATA -> jwtClaim(resource, field + ".metadata", id.getMetadata());
      case SOURCED_METADATA -> throw metadata(resource, field + ".sourced_metadata", id.getSourcedMetadata().getMetadataMatcher());
      case FILTER_STATE -> throw new XdsParseException(resource, field + ".filter_state",
          "filter state '" + id.getFilterState().getKey() + "' is not available to Inmesh");
      case CUSTOM -> throw new XdsParseException(resource, field + ".custom",
          "custom principal '" + id.getCustom().getName() + "' is not supported");
      case IDENTIFIER_NOT_SET -> throw new XdsParseException(resource, field, "no identifier is set");
    };
  }

  private static List<Principal> principals(String resource, String field, List<io.envoyproxy.envoy.config.rbac.v3.Principal> ids)
      throws XdsParseException {
    if (ids.isEmpty()) {
      throw new XdsParseException(resource, field, "needs at least one id");
    }
    List<Principal> parsed = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      parsed.add(principal(resource, field + "[" + i + "]", ids.get(i)));
    }
    return parsed;
  }

  /** The claims of the verified end-user token, which the JWT filter of the same listener puts in its metadata. */
  private static Principal jwtClaim(String resource, String field, MetadataMatcher matcher) throws XdsParseException {
    if (!matcher.getFilter().equals(JWT_FILTER)) {
      throw metadata(resource, field, matcher);
    }
    List<String> path = new ArrayList<>();
    for (int i = 0; i < matcher.getPathCount(); i++) {
      if (!matcher.getPath(i).hasKey() || matcher.getPath(i).getKey().isEmpty()) {
        throw new XdsParseException(resource, field + ".path[" + i + "].key", "must be a non-empty key");
      }
      path.add(matcher.getPath(i).getKey());
    }
    if (path.isEmpty()) {
      throw new XdsParseException(resource, field + ".path", "needs at least one key");
    }
    if (!matcher.hasValue()) {
      throw new XdsParseException(resource, field + ".value", "is required");
    }
    return new Principal.JwtClaim(path, value(resource, field + ".value", matcher.getValue()), matcher.getInvert());
  }

  private static ValueMatch value(String resource, String field, ValueMatcher matcher) throws XdsParseException {
    return switch (matcher.getMatchPatternCase()) {
      case STRING_MATCH -> new ValueMatch.StringValue(
          Matchers.stringMatcher(resource, field + ".string_match", matcher.getStringMatch()));
      case BOOL_MATCH -> new ValueMatch.BoolValue(matcher.getBoolMatch());
      case PRESENT_MATCH -> {
        if (!matcher.getPresentMatch()) {
          throw new XdsParseException(resource, field + ".present_match", "must be true");
        }
        yield new ValueMatch.Present();
      }
      case LIST_MATCH -> {
        if (!matcher.getListMatch().hasOneOf()) {
          throw new XdsParseException(resource, field + ".list_match.one_of", "is required");
        }
        yield new ValueMatch.ListOneOf(value(resource, field + ".list_match.one_of", matcher.getListMatch().getOneOf()));
      }
      case OR_MATCH -> {
        List<ValueMatcher> each = matcher.getOrMatch().getValueMatchersList();
        if (each.isEmpty()) {
          throw new XdsParseException(resource, field + ".or_match.value_matchers", "needs at least one matcher");
        }
        List<ValueMatch> parsed = new ArrayList<>();
        for (int i = 0; i < each.size(); i++) {
          parsed.add(value(resource, field + ".or_match.value_matchers[" + i + "]", each.get(i)));
        }
        yield new ValueMatch.AnyOf(parsed);
      }
      case NULL_MATCH, DOUBLE_MATCH -> throw new XdsParseException(resource, field,
          "only string, bool, present, list and or matchers are supported on JWT claims, got "
              + matcher.getMatchPatternCase().name().toLowerCase(Locale.ROOT));
      case MATCHPATTERN_NOT_SET -> throw new XdsParseException(resource, field, "no match pattern is set");
    };
  }

  private static XdsParseException metadata(String resource, String field, MetadataMatcher matcher) {
    if (matcher.getFilter().equals(JWT_FILTER)) {
      return new XdsParseException(resource, field, "JWT claims (" + JWT_FILTER + ") are matched as principals only,"
          + " as Istio writes them");
    }
    return new XdsParseException(resource, field, "metadata of filter '" + matcher.getFilter() + "' is not available to Inmesh");
  }

  // Deprecated fields (metadata, source_ip, the old header matchers) are still sent by control planes; read or refuse them by name.
  @SuppressWarnings("deprecation")
  private static HeaderMatch header(String resource, String field, HeaderMatcher header) throws XdsParseException {
    String name = header.getName().toLowerCase(Locale.ROOT);
    if (name.isEmpty()) {
      throw new XdsParseException(resource, field + ".name", "must not be empty");
    }
    if (name.startsWith(":") && !PSEUDO_HEADERS.contains(name)) {
      throw new XdsParseException(resource, field + ".name", "pseudo-header " + name + " is not available to authorization; "
          + "only " + String.join(", ", new java.util.TreeSet<>(PSEUDO_HEADERS)) + " are");
    }
    boolean invert = header.getInvertMatch();
    Optional<StringMatcher> value = switch (header.getHeaderMatchSpecifierCase()) {
      case STRING_MATCH -> Optional.of(Matchers.stringMatcher(resource, field + ".string_match", header.getStringMatch()));
      // Envoy's deprecated exact_match with an empty value accepts any value.
      case EXACT_MATCH -> header.getExactMatch().isEmpty() ? Optional.empty()
          : Optional.of(new StringMatcher.Exact(header.getExactMatch(), false));
      case PREFIX_MATCH -> Optional.of(new StringMatcher.Prefix(header.getPrefixMatch(), false));
      case SUFFIX_MATCH -> Optional.of(new StringMatcher.Suffix(header.getSuffixMatch(), false));
      case CONTAINS_MATCH -> Optional.of(new StringMatcher.Contains(header.getContainsMatch(), false));
      case SAFE_REGEX_MATCH -> Optional.of(Matchers.regex(resource, field + ".safe_regex_match", header.getSafeRegexMatch().getRegex()));
      case PRESENT_MATCH -> {
        // "must be absent" is "must be present", inverted.
        invert ^= !header.getPresentMatch();
        yield Optional.empty();
      }
      case HEADERMATCHSPECIFIER_NOT_SET -> Optional.empty();
      case RANGE_MATCH -> throw new XdsParseException(resource, field + ".range_match", "range matches are not supported");
    };
    return new HeaderMatch(name, value, invert, header.getTreatMissingHeaderAsEmpty());
  }

  private static StringMatcher path(String resource, String field, PathMatcher path) throws XdsParseException {
    if (!path.hasPath()) {
      throw new XdsParseException(resource, field + ".path", "must be set");
    }
    return Matchers.stringMatcher(resource, field + ".path", path.getPath());
  }

  private static PathTemplate uriTemplate(String resource, String field, TypedExtensionConfig extension) throws XdsParseException {
    if (!extension.getTypedConfig().getTypeUrl().equals(URI_TEMPLATE_TYPE)) {
      throw new XdsParseException(resource, field + ".typed_config",
          "expected " + URI_TEMPLATE_TYPE + ", got '" + extension.getTypedConfig().getTypeUrl() + "'");
    }
    try {
      String template = TypedConfigs.unpack(extension.getTypedConfig(), TypedConfigs.URI_TEMPLATE_MATCH_CONFIG, UriTemplateMatchConfig.parser()).getPathTemplate();
      return PathTemplate.of(template);
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_config", "not a UriTemplateMatchConfig: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new XdsParseException(resource, field + ".typed_config.path_template", e.getMessage());
    }
  }

  private static CidrRange cidr(String resource, String field, io.envoyproxy.envoy.config.core.v3.CidrRange range)
      throws XdsParseException {
    try {
      // An unset prefix_len is 0, as in Envoy.
      return new CidrRange(CidrRange.parseAddress(range.getAddressPrefix()), range.getPrefixLen().getValue());
    } catch (IllegalArgumentException e) {
      throw new XdsParseException(resource, field, e.getMessage());
    }
  }
}
