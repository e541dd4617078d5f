package dev.inmesh.control.config.security;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.security.AuthorizationPolicy.Action;
import dev.inmesh.control.config.security.AuthorizationPolicy.Condition;
import dev.inmesh.control.config.security.AuthorizationPolicy.Operation;
import dev.inmesh.control.config.security.AuthorizationPolicy.Rule;
import dev.inmesh.control.config.security.AuthorizationPolicy.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads {@code security.istio.io} AuthorizationPolicy with the rules Istio applies: the CRD
 * schema, its CEL rules and the admission webhook's checks on values, paths and condition keys.
 */
public final class AuthorizationPolicyParser implements SpecParser<AuthorizationPolicy> {
  /** Condition keys that take no argument, from Istio's authorization conditions reference. */
  private static final Set<String> PLAIN_KEYS = Set.of(
      "source.ip", "remote.ip", "source.namespace", "source.principal", "source.trustDomain",
      "request.auth.principal", "request.auth.audiences", "request.auth.presenter",
      "destination.ip", "destination.port", "connection.sni");
  private static final Set<String> IP_KEYS = Set.of("source.ip", "remote.ip", "destination.ip");
  /** Keys with a map argument: {@code request.headers[name]}, nested claims, Envoy filter metadata. */
  private static final Pattern MAP_KEY = Pattern.compile(
      "request\\.headers\\[[^\\[\\]]+\\]"
          + "|request\\.auth\\.claims(\\[[^\\[\\]]+\\])+"
          + "|experimental\\.envoy\\.filters\\.[^\\[\\]]+(\\[[^\\[\\]]+\\])+");
  /** RFC 3986 pchar: what a literal path segment may hold next to a {@code {*}} template. */
  private static final Pattern PATH_LITERAL = Pattern.compile("([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})+");
  private static final String MATCH_ONE = "{*}";
  private static final String MATCH_ANY = "{**}";

  public AuthorizationPolicyParser() {}

  @Override
  public AuthorizationPolicy parse(SpecReader spec, String namespace) {
    WorkloadTargets.checkOneOf(spec);
    Map<String, String> selector = WorkloadTargets.selector(spec);
    Optional<PolicyTargetReference> targetRef = WorkloadTargets.targetRef(spec);
    List<PolicyTargetReference> targetRefs = WorkloadTargets.targetRefs(spec);
    Action action = spec.enumValue("action", Action.class).orElse(Action.ALLOW);
    Optional<String> provider = readProvider(spec, action);

    List<Rule> rules = new ArrayList<>();
    for (SpecReader rule : spec.list("rules")) {
      rules.add(readRule(rule, action));
    }
    if (rules.isEmpty() && action == Action.DENY) {
      spec.warn("rules", "DENY action without rules is meaningless as it will never be triggered;"
          + " add an empty rule {} if it should match every request");
    }
    if (action == Action.CUSTOM) {
      if (rules.isEmpty()) {
        spec.error("rules", "CUSTOM action without rules is meaningless as it will never be triggered;"
            + " add an empty rule {} if it should match every request");
      }
      spec.failsClosed("action", "CUSTOM needs external authorization (ext_authz) through provider '"
          + provider.orElse("") + "', which Inmesh does not have, so every request a rule of this policy matches is"
          + " denied (403 RBAC: access denied; gRPC PERMISSION_DENIED), as Istio denies it when it cannot use the provider");
    }
    return new AuthorizationPolicy(selector, targetRef, targetRefs, action, provider, rules);
  }

  private static Optional<String> readProvider(SpecReader spec, Action action) {
    Optional<SpecReader> provider = spec.object("provider");
    Optional<String> name = Optional.empty();
    if (provider.isPresent()) {
      name = provider.get().string("name").filter(n -> !n.isEmpty());
      provider.get().finish();
      if (action != Action.CUSTOM) {
        spec.error("provider", "provider must only be set with the CUSTOM action, found " + action);
        return Optional.empty();
      }
    }
    if (action == Action.CUSTOM && name.isEmpty()) {
      spec.error(provider.isPresent() ? "provider.name" : "provider", "provider.name must not be empty"
          + " for the CUSTOM action");
    }
    return name;
  }

  private static Rule readRule(SpecReader rule, Action action) {
    List<Source> from = new ArrayList<>();
    long before = WorkloadTargets.errorCount(rule);
    List<SpecReader> fromReaders = rule.list("from");
    if (rule.has("from") && fromReaders.isEmpty() && WorkloadTargets.errorCount(rule) == before) {
      rule.error("from", "must not be empty when set; leave it out to match every source");
    }
    for (SpecReader entry : fromReaders) {
      Optional<SpecReader> source = entry.object("source");
      entry.finish();
      if (source.isEmpty()) {
        entry.error("source", "is required");
        continue;
      }
      from.add(readSource(source.get(), action));
      source.get().finish();
    }

    List<Operation> to = new ArrayList<>();
    before = WorkloadTargets.errorCount(rule);
    List<SpecReader> toReaders = rule.list("to");
    if (rule.has("to") && toReaders.isEmpty() && WorkloadTargets.errorCount(rule) == before) {
      rule.error("to", "must not be empty when set; leave it out to match every operation");
    }
    for (SpecReader entry : toReaders) {
      Optional<SpecReader> operation = entry.object("operation");
      entry.finish();
      if (operation.isEmpty()) {
        entry.error("operation", "is required");
        continue;
      }
      to.add(readOperation(operation.get()));
      operation.get().finish();
    }

    List<Condition> when = new ArrayList<>();
    for (SpecReader condition : rule.list("when")) {
      readCondition(condition, action).ifPresent(when::add);
      condition.finish();
    }
    rule.finish();
    return new Rule(from, to, when);
  }

  private static Source readSource(SpecReader source, Action action) {
    List<String> principals = WorkloadTargets.nonEmptyStrings(source, "principals");
    List<String> notPrincipals = WorkloadTargets.nonEmptyStrings(source, "notPrincipals");
    List<String> requestPrincipals = WorkloadTargets.nonEmptyStrings(source, "requestPrincipals");
    List<String> notRequestPrincipals = WorkloadTargets.nonEmptyStrings(source, "notRequestPrincipals");
    List<String> namespaces = WorkloadTargets.nonEmptyStrings(source, "namespaces");
    List<String> notNamespaces = WorkloadTargets.nonEmptyStrings(source, "notNamespaces");
    List<String> ipBlocks = ipBlocks(source, "ipBlocks");
    List<String> notIpBlocks = ipBlocks(source, "notIpBlocks");
    List<String> remoteIpBlocks = ipBlocks(source, "remoteIpBlocks");
    List<String> notRemoteIpBlocks = ipBlocks(source, "notRemoteIpBlocks");
    List<String> serviceAccounts = serviceAccounts(source, "serviceAccounts");
    List<String> notServiceAccounts = serviceAccounts(source, "notServiceAccounts");
    List<String> trustDomains = WorkloadTargets.nonEmptyStrings(source, "trustDomains");
    List<String> notTrustDomains = WorkloadTargets.nonEmptyStrings(source, "notTrustDomains");

    boolean anySet = false;
    for (List<String> list : List.of(principals, notPrincipals, requestPrincipals, notRequestPrincipals,
        namespaces, notNamespaces, ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks,
        serviceAccounts, notServiceAccounts, trustDomains, notTrustDomains)) {
      anySet |= !list.isEmpty();
    }
    if (!anySet) {
      source.error(null, "must not be empty: set at least one field, or leave out 'from' to match every source");
    }
    // Istio's CEL rule: a service account already names its namespace, so the two can't be mixed
    boolean accounts = source.has("serviceAccounts") || source.has("notServiceAccounts");
    if (accounts && (source.has("principals") || source.has("notPrincipals")
        || source.has("namespaces") || source.has("notNamespaces"))) {
      source.error(null, "Cannot set serviceAccounts with namespaces or principals");
      serviceAccounts = List.of();
      notServiceAccounts = List.of();
    }
    if (action == Action.CUSTOM) {
      for (String field : new String[] {"principals", "notPrincipals", "requestPrincipals",
          "notRequestPrincipals", "namespaces", "notNamespaces"}) {
        if (source.has(field)) {
          source.error(field, "is currently not supported with the CUSTOM action");
        }
      }
    }
    return new Source(principals, notPrincipals, requestPrincipals, notRequestPrincipals, namespaces,
        notNamespaces, ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks, serviceAccounts,
        notServiceAccounts, trustDomains, notTrustDomains);
  }

  private static List<String> ipBlocks(SpecReader reader, String field) {
    List<String> values = reader.stringList(field);
    for (int i = 0; i < values.size(); i++) {
      if (!IpAddresses.isIpOrCidr(values.get(i))) {
        reader.error(field + "[" + i + "]", "must be an IP address or a CIDR range, got '" + values.get(i) + "'");
      }
    }
    return values;
  }

  private static List<String> serviceAccounts(SpecReader reader, String field) {
    List<String> values = reader.stringList(field);
    for (int i = 0; i < values.size(); i++) {
      String value = values.get(i);
      String[] parts = value.split("/", -1);
      if (value.isEmpty() || parts.length > 2 || parts[0].isEmpty() || parts[parts.length - 1].isEmpty()) {
        reader.error(field + "[" + i + "]", "must be <namespace>/<service-account> or <service-account>,"
            + " got '" + value + "'");
      }
    }
    return values;
  }

  private static Operation readOperation(SpecReader operation) {
    List<String> hosts = WorkloadTargets.nonEmptyStrings(operation, "hosts");
    List<String> notHosts = WorkloadTargets.nonEmptyStrings(operation, "notHosts");
    List<Integer> ports = ports(operation, "ports");
    List<Integer> notPorts = ports(operation, "notPorts");
    List<String> methods = WorkloadTargets.nonEmptyStrings(operation, "methods");
    List<String> notMethods = WorkloadTargets.nonEmptyStrings(operation, "notMethods");
    List<String> paths = paths(operation, "paths");
    List<String> notPaths = paths(operation, "notPaths");
    boolean anySet = false;
    for (String field : new String[] {"hosts", "notHosts", "ports", "notPorts", "methods", "notMethods",
        "paths", "notPaths"}) {
      anySet |= operation.has(field);
    }
    if (!anySet) {
      operation.error(null, "must not be empty: set at least one field, or leave out 'to' to match every"
          + " operation");
    }
    return new Operation(hosts, notHosts, ports, notPorts, methods, notMethods, paths, notPaths);
  }

  private static List<Integer> ports(SpecReader reader, String field) {
    List<Integer> ports = new ArrayList<>();
    List<String> values = reader.stringList(field);
    for (int i = 0; i < values.size(); i++) {
      Optional<Integer> port = parsePort(values.get(i));
      if (port.isPresent()) {
        ports.add(port.get());
      } else {
        reader.error(field + "[" + i + "]", "port must be between 1-65535, got '" + values.get(i) + "'");
      }
    }
    return ports;
  }

  private static Optional<Integer> parsePort(String text) {
    if (!text.matches("\\d{1,5}")) {
      return Optional.empty();
    }
    int port = Integer.parseInt(text);
    return port >= 1 && port <= 65535 ? Optional.of(port) : Optional.empty();
  }

  /** Istio's path template rules: {@code {*}} is one segment, {@code {**}} the rest, used once. */
  private static List<String> paths(SpecReader reader, String field) {
    List<String> values = WorkloadTargets.nonEmptyStrings(reader, field);
    for (int i = 0; i < values.size(); i++) {
      Optional<String> problem = pathProblem(values.get(i));
      if (problem.isPresent()) {
        reader.error(field + "[" + i + "]", "invalid or unsupported path '" + values.get(i) + "': " + problem.get());
      }
    }
    return values;
  }

  private static Optional<String> pathProblem(String path) {
    boolean template = path.contains(MATCH_ONE) || path.contains(MATCH_ANY);
    boolean seenMatchAny = false;
    String trimmed = path.replaceAll("^/+|/+$", "");
    for (String segment : trimmed.split("/", -1)) {
      if (segment.equals(MATCH_ONE) || segment.equals(MATCH_ANY)) {
        if (seenMatchAny) {
          return Optional.of("{**} must be the last operator in the template");
        }
        seenMatchAny = segment.equals(MATCH_ANY);
        continue;
      }
      if (segment.contains("{") || segment.contains("}")) {
        return Optional.of("'{' and '}' are only allowed in the templates {*} and {**}");
      }
      if (template && !PATH_LITERAL.matcher(segment).matches()) {
        return Optional.of("segment '" + segment + "' is not a valid path literal");
      }
    }
    return Optional.empty();
  }

  private static Optional<Condition> readCondition(SpecReader condition, Action action) {
    String key = condition.requiredString("key");
    List<String> values = WorkloadTargets.nonEmptyStrings(condition, "values");
    List<String> notValues = WorkloadTargets.nonEmptyStrings(condition, "notValues");
    if (key.isEmpty()) {
      return Optional.empty();
    }
    if (!PLAIN_KEYS.contains(key) && !MAP_KEY.matcher(key).matches()) {
      condition.error("key", "unknown attribute '" + key + "': use one of " + String.join(", ", PLAIN_KEYS.stream()
          .sorted().toList()) + ", request.headers[<name>], request.auth.claims[<claim>]"
          + " or experimental.envoy.filters.<filter>[<key>]");
      return Optional.empty();
    }
    if (values.isEmpty() && notValues.isEmpty()) {
      condition.error(null, "at least one of values or notValues must be set for key " + key);
      return Optional.empty();
    }
    boolean valid = checkValues(condition, key, "values", values) & checkValues(condition, key, "notValues", notValues);
    if (action == Action.CUSTOM && (key.equals("source.namespace") || key.equals("source.principal")
        || key.startsWith("request.auth."))) {
      condition.error("key", key + " is currently not supported with the CUSTOM action");
    } else if (key.startsWith("experimental.envoy.filters.")) {
      unevaluable(condition, "key", action, key + " reads another Envoy filter's dynamic metadata, which"
          + " Inmesh's servers and proxyless gRPC do not have");
    }
    return valid ? Optional.of(new Condition(key, values, notValues)) : Optional.empty();
  }

  /**
   * A valid field that no Inmesh server can evaluate. It fails closed, as in Istio for a field its
   * proxy cannot evaluate: left out of a DENY, CUSTOM or AUDIT rule, it drops an ALLOW rule.
   */
  private static void unevaluable(SpecReader reader, String field, Action action, String why) {
    switch (action) {
      case ALLOW -> reader.failsClosed(field, why + "; the rule is dropped, so it allows nothing");
      case DENY, CUSTOM -> reader.failsClosed(field, why + "; the rule denies as if this field were not there");
      case AUDIT -> reader.warn(field, why + "; the rule audits as if this field were not there");
    }
  }

  private static boolean checkValues(SpecReader condition, String key, String field, List<String> values) {
    boolean valid = true;
    for (int i = 0; i < values.size(); i++) {
      String value = values.get(i);
      if (IP_KEYS.contains(key) && !IpAddresses.isIpOrCidr(value)) {
        condition.error(field + "[" + i + "]", "must be an IP address or a CIDR range for " + key + ", got '" + value + "'");
        valid = false;
      } else if (key.equals("destination.port") && parsePort(value).isEmpty()) {
        condition.error(field + "[" + i + "]", "port must be between 1-65535 for " + key + ", got '" + value + "'");
        valid = false;
      }
    }
    return valid;
  }
}
