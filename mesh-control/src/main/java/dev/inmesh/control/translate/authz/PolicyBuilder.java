package dev.inmesh.control.translate.authz;

import static dev.inmesh.control.translate.authz.RbacMatchers.cidr;

import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.config.security.AuthorizationPolicy.Action;
import dev.inmesh.control.config.security.AuthorizationPolicy.Condition;
import dev.inmesh.control.config.security.AuthorizationPolicy.Operation;
import dev.inmesh.control.config.security.AuthorizationPolicy.Rule;
import dev.inmesh.control.config.security.AuthorizationPolicy.Source;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;

/**
 * Turns one AuthorizationPolicy into Envoy RBAC policies, one per rule, named as Istio names them
 * ({@code ns[<namespace>]-policy[<name>]-rule[<index>]}) and shaped as Istio's generator shapes
 * them: a rule's principals are one {@code and_ids} per {@code from} source (or one for the whole
 * rule), its permissions one {@code and_rules} per {@code to} operation; each {@code when}
 * condition joins the side it describes, the peer or the request; each list of values is an
 * {@code or}, and each {@code not*} list a {@code not} of an {@code or}.
 *
 * <p>A field the {@link AuthorizationConfig.DataPlane} cannot evaluate fails closed, as in Istio's
 * generator for a filter chain that cannot evaluate it: a DENY, AUDIT or CUSTOM rule leaves it out
 * and so matches more, an ALLOW rule is dropped and so allows less. Each such field is reported.
 * A CUSTOM policy becomes DENY rules named as Istio names them when it cannot reach the provider
 * ({@code istio-ext-authz-<provider>-ns[<ns>]-policy[<name>]-rule[<i>]-deny-due-to-bad-CUSTOM-action}).
 */
final class PolicyBuilder {
  private static final java.util.regex.Pattern BRACKETS = java.util.regex.Pattern.compile("\\[([^\\[\\]]+)\\]");
  private static final String FILTER_METADATA_KEY = "experimental.envoy.filters.";

  private static final String CUSTOM_DENY_SUFFIX = "-deny-due-to-bad-CUSTOM-action";

  private final TrustDomainAliases aliases;
  private final AuthorizationConfig.DataPlane dataPlane;

  PolicyBuilder(AuthorizationConfig config) {
    this.aliases = new TrustDomainAliases(config);
    this.dataPlane = config.dataPlane();
  }

  /** Field paths in warnings are relative to the resource, as the config parser writes them. */
  interface Warnings {
    void add(String field, String message);
  }

  static String policyName(String namespace, String name, int rule) {
    return "ns[" + namespace + "]-policy[" + name + "]-rule[" + rule + "]";
  }

  private static String customDenyName(String provider, String namespace, String name, int rule) {
    return "istio-ext-authz-" + provider + "-" + policyName(namespace, name, rule) + CUSTOM_DENY_SUFFIX;
  }

  /**
   * The policy's rules as RBAC policies for the filter of its action (CUSTOM: the DENY filter).
   * An ALLOW rule with a field the data plane cannot evaluate is left out of the map.
   */
  Map<String, Policy> build(String namespace, String name, AuthorizationPolicy spec, Warnings warnings) {
    Map<String, Policy> policies = new LinkedHashMap<>();
    if (spec.rules().isEmpty()) {
      // Istio: a policy without rules matches nothing (ALLOW with no rules is "allow nothing")
      policies.put(policyName(namespace, name, 0), Policy.newBuilder()
          .addPermissions(Permission.newBuilder().setNotRule(Permission.newBuilder().setAny(true)))
          .addPrincipals(Principal.newBuilder().setNotId(Principal.newBuilder().setAny(true)))
          .build());
      return policies;
    }
    for (int i = 0; i < spec.rules().size(); i++) {
      RuleScope scope = new RuleScope(spec.action(), warnings);
      Policy policy = rule(spec.rules().get(i), namespace, "spec.rules[" + i + "]", scope);
      if (scope.dropped) {
        continue;
      }
      String policyName = spec.action() == Action.CUSTOM
          ? customDenyName(spec.provider().orElse(""), namespace, name, i)
          : policyName(namespace, name, i);
      policies.put(policyName, policy);
    }
    return policies;
  }

  /**
   * One rule's translation: the fields it leaves out because the data plane cannot evaluate them,
   * and whether that drops the rule. Istio's rule for such fields: an ALLOW rule would allow more
   * without the field, so it is dropped; a DENY (here also CUSTOM) or AUDIT rule matches more
   * without it, which is the safe side, so the field alone is left out.
   */
  private static final class RuleScope {
    private final Action action;
    private final Warnings warnings;
    private boolean dropped;

    RuleScope(Action action, Warnings warnings) {
      this.action = action;
      this.warnings = warnings;
    }

    /** Whether to translate the field at {@code at}; if not, reports why and what the rule does without it. */
    boolean admits(String at, Optional<String> cannotEvaluate) {
      if (cannotEvaluate.isEmpty()) {
        return true;
      }
      String outcome = switch (action) {
        case ALLOW -> "enforced fail-closed: the rule is dropped, so it allows nothing (Istio drops an ALLOW rule"
            + " whose field the proxy cannot evaluate)";
        case DENY, CUSTOM -> "enforced fail-closed: the rule denies as if this field were not there, so it denies"
            + " every request its other fields match (Istio leaves out of a DENY rule what the proxy cannot evaluate)";
        case AUDIT -> "the rule audits as if this field were not there";
      };
      warnings.add(at, cannotEvaluate.get() + "; " + outcome);
      dropped |= action == Action.ALLOW;
      return false;
    }
  }

  private Policy rule(Rule rule, String namespace, String at, RuleScope scope) {
    List<Permission> requestConditions = new ArrayList<>();
    List<Principal> peerConditions = new ArrayList<>();
    for (int k = 0; k < rule.when().size(); k++) {
      condition(rule.when().get(k), at + ".when[" + k + "]", requestConditions, peerConditions, scope);
    }

    Policy.Builder policy = Policy.newBuilder();
    if (rule.to().isEmpty()) {
      policy.addPermissions(andRules(requestConditions));
    }
    for (int j = 0; j < rule.to().size(); j++) {
      List<Permission> rules = operation(rule.to().get(j), at + ".to[" + j + "].operation", scope);
      rules.addAll(requestConditions);
      policy.addPermissions(andRules(rules));
    }
    if (rule.from().isEmpty()) {
      policy.addPrincipals(andIds(peerConditions));
    }
    for (int j = 0; j < rule.from().size(); j++) {
      List<Principal> ids = source(rule.from().get(j), namespace, at + ".from[" + j + "].source", scope);
      ids.addAll(peerConditions);
      policy.addPrincipals(andIds(ids));
    }
    return policy.build();
  }

  private List<Permission> operation(Operation operation, String at, RuleScope scope) {
    List<Permission> rules = new ArrayList<>();
    Function<String, Permission> host = v -> Permission.newBuilder()
        .setHeader(RbacMatchers.header(":authority", v, true)).build();
    Function<String, Permission> method = v -> Permission.newBuilder()
        .setHeader(RbacMatchers.header(":method", v, false)).build();
    Function<Integer, Permission> port = p -> Permission.newBuilder().setDestinationPort(p).build();
    addPermissions(rules, operation.hosts(), operation.notHosts(), host);
    addPermissions(rules, operation.methods(), operation.notMethods(), method);
    if (scope.admits(at + ".paths", templates(operation.paths()))) {
      addPermissions(rules, operation.paths(), List.of(), RbacMatchers::path);
    }
    if (scope.admits(at + ".notPaths", templates(operation.notPaths()))) {
      addPermissions(rules, List.of(), operation.notPaths(), RbacMatchers::path);
    }
    addPermissions(rules, operation.ports(), operation.notPorts(), port);
    return rules;
  }

  /** Why the data plane cannot evaluate this list of paths: the first template it refuses. */
  private Optional<String> templates(List<String> paths) {
    return paths.stream().filter(RbacMatchers::isPathTemplate).findFirst().flatMap(dataPlane::pathTemplate);
  }

  private List<Principal> source(Source source, String namespace, String at, RuleScope scope) {
    List<Principal> ids = new ArrayList<>();
    addPrincipals(ids, aliases.expand(source.principals()), aliases.expand(source.notPrincipals()),
        RbacMatchers::principal);
    if (!source.requestPrincipals().isEmpty()
        && scope.admits(at + ".requestPrincipals", dataPlane.jwtClaims("requestPrincipals"))) {
      addPrincipals(ids, source.requestPrincipals(), List.of(), RbacMatchers::requestPrincipal);
    }
    if (!source.notRequestPrincipals().isEmpty()
        && scope.admits(at + ".notRequestPrincipals", dataPlane.jwtClaims("notRequestPrincipals"))) {
      addPrincipals(ids, List.of(), source.notRequestPrincipals(), RbacMatchers::requestPrincipal);
    }
    addPrincipals(ids, source.namespaces(), source.notNamespaces(), RbacMatchers::namespace);
    addPrincipals(ids, source.serviceAccounts(), source.notServiceAccounts(),
        v -> RbacMatchers.serviceAccount(v, namespace));
    addPrincipals(ids, source.remoteIpBlocks(), source.notRemoteIpBlocks(),
        v -> Principal.newBuilder().setRemoteIp(cidr(v)).build());
    addPrincipals(ids, source.ipBlocks(), source.notIpBlocks(),
        v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build());
    addPrincipals(ids, source.trustDomains(), source.notTrustDomains(), RbacMatchers::trustDomain);
    return ids;
  }

  private void condition(Condition condition, String at, List<Permission> request, List<Principal> peer,
      RuleScope scope) {
    String key = condition.key();
    List<String> values = condition.values();
    List<String> notValues = condition.notValues();
    List<String> args = brackets(key);
    if (key.startsWith("request.headers[")) {
      String name = args.get(0);
      if (scope.admits(at + ".key", dataPlane.header(name))) {
        addPrincipals(peer, values, notValues,
            v -> Principal.newBuilder().setHeader(RbacMatchers.header(name, v, false)).build());
      }
      return;
    }
    if (key.startsWith("request.auth.claims[")) {
      if (scope.admits(at, dataPlane.jwtClaims(key))) {
        addSingle(peer, values, notValues, v -> RbacMatchers.claim(args, v));
      }
      return;
    }
    if (key.startsWith(FILTER_METADATA_KEY)) {
      String filter = key.substring("experimental.".length(), key.indexOf('['));
      if (scope.admits(at, dataPlane.filterMetadata(key))) {
        addSingleRule(request, values, notValues, v -> RbacMatchers.filterMetadata(filter, args, v));
      }
      return;
    }
    switch (key) {
      case "source.ip" -> addPrincipals(peer, values, notValues,
          v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build());
      case "remote.ip" -> addPrincipals(peer, values, notValues,
          v -> Principal.newBuilder().setRemoteIp(cidr(v)).build());
      case "source.namespace" -> addPrincipals(peer, values, notValues, RbacMatchers::namespace);
      case "source.principal" -> addPrincipals(peer, aliases.expand(values), aliases.expand(notValues),
          RbacMatchers::principal);
      case "source.trustDomain" -> addPrincipals(peer, values, notValues, RbacMatchers::trustDomain);
      case "request.auth.principal" -> {
        if (scope.admits(at, dataPlane.jwtClaims(key))) {
          addPrincipals(peer, values, notValues, RbacMatchers::requestPrincipal);
        }
      }
      case "request.auth.audiences" -> {
        if (scope.admits(at, dataPlane.jwtClaims(key))) {
          addSingle(peer, values, notValues, v -> RbacMatchers.claim(List.of("aud"), v));
        }
      }
      case "request.auth.presenter" -> {
        if (scope.admits(at, dataPlane.jwtClaims(key))) {
          addSingle(peer, values, notValues, v -> RbacMatchers.claim(List.of("azp"), v));
        }
      }
      case "destination.ip" -> addPermissions(request, values, notValues,
          v -> Permission.newBuilder().setDestinationIp(cidr(v)).build());
      case "destination.port" -> addPermissions(request, values, notValues,
          v -> Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build());
      case "connection.sni" -> {
        if (scope.admits(at, dataPlane.serverName())) {
          addPermissions(request, values, notValues,
              v -> Permission.newBuilder().setRequestedServerName(RbacMatchers.string(v)).build());
        }
      }
      // the parser refuses unknown keys; should one get here, it fails closed like any other
      default -> scope.admits(at + ".key", Optional.of("Inmesh does not know the attribute '" + key + "'"));
    }
  }

  private static List<String> brackets(String key) {
    List<String> args = new ArrayList<>();
    Matcher matcher = BRACKETS.matcher(key);
    while (matcher.find()) {
      args.add(matcher.group(1));
    }
    return args;
  }

  private static <T> void addPermissions(List<Permission> rules, List<T> values, List<T> notValues,
      Function<T, Permission> each) {
    if (!values.isEmpty()) {
      rules.add(orRules(values.stream().map(each).toList()));
    }
    if (!notValues.isEmpty()) {
      rules.add(Permission.newBuilder().setNotRule(orRules(notValues.stream().map(each).toList())).build());
    }
  }

  private static <T> void addPrincipals(List<Principal> ids, List<T> values, List<T> notValues,
      Function<T, Principal> each) {
    if (!values.isEmpty()) {
      ids.add(orIds(values.stream().map(each).toList()));
    }
    if (!notValues.isEmpty()) {
      ids.add(Principal.newBuilder().setNotId(orIds(notValues.stream().map(each).toList())).build());
    }
  }

  /** Istio matches all values of a metadata condition in one matcher rather than an or of matchers. */
  private static void addSingle(List<Principal> ids, List<String> values, List<String> notValues,
      Function<List<String>, Principal> all) {
    if (!values.isEmpty()) {
      ids.add(all.apply(values));
    }
    if (!notValues.isEmpty()) {
      ids.add(Principal.newBuilder().setNotId(all.apply(notValues)).build());
    }
  }

  private static void addSingleRule(List<Permission> rules, List<String> values, List<String> notValues,
      Function<List<String>, Permission> all) {
    if (!values.isEmpty()) {
      rules.add(all.apply(values));
    }
    if (!notValues.isEmpty()) {
      rules.add(Permission.newBuilder().setNotRule(all.apply(notValues)).build());
    }
  }

  private static Permission orRules(List<Permission> rules) {
    return Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(rules)).build();
  }

  private static Principal orIds(List<Principal> ids) {
    return Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }

  /** An empty side matches everything, written as Istio writes it: an and of "any". */
  private static Permission andRules(List<Permission> rules) {
    List<Permission> all = rules.isEmpty() ? List.of(Permission.newBuilder().setAny(true).build()) : rules;
    return Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(all)).build();
  }

  private static Principal andIds(List<Principal> ids) {
    List<Principal> all = ids.isEmpty() ? List.of(Principal.newBuilder().setAny(true).build()) : ids;
    return Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(all)).build();
  }
}
