package dev.inmesh.control.translate.authz;

import static dev.inmesh.control.translate.authz.RbacMatchers.cidr;

import dev.inmesh.control.config.security.AuthorizationPolicy;
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
import java.util.function.Function;
import java.util.regex.Matcher;

/**
 * Turns one AuthorizationPolicy into Envoy RBAC policies, one per rule, named as Istio names them
 * ({@code ns[<namespace>]-policy[<name>]-rule[<index>]}) and shaped as Istio's generator shapes
 * them: a rule's principals are one {@code and_ids} per {@code from} source (or one for the whole
 * rule), its permissions one {@code and_rules} per {@code to} operation; each {@code when}
 * condition joins the side it describes, the peer or the request; each list of values is an
 * {@code or}, and each {@code not*} list a {@code not} of an {@code or}.
 */
final class PolicyBuilder {
  private static final java.util.regex.Pattern BRACKETS = java.util.regex.Pattern.compile("\\[([^\\[\\]]+)\\]");
  private static final String FILTER_METADATA_KEY = "experimental.envoy.filters.";

  private final TrustDomainAliases aliases;

  PolicyBuilder(AuthorizationConfig config) {
    this.aliases = new TrustDomainAliases(config);
  }

  /** Field paths in warnings are relative to the resource, as the config parser writes them. */
  interface Warnings {
    void add(String field, String message);
  }

  static String policyName(String namespace, String name, int rule) {
    return "ns[" + namespace + "]-policy[" + name + "]-rule[" + rule + "]";
  }

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
      policies.put(policyName(namespace, name, i), rule(spec.rules().get(i), namespace, "spec.rules[" + i + "]",
          warnings));
    }
    return policies;
  }

  private Policy rule(Rule rule, String namespace, String at, Warnings warnings) {
    List<Permission> requestConditions = new ArrayList<>();
    List<Principal> peerConditions = new ArrayList<>();
    for (int k = 0; k < rule.when().size(); k++) {
      condition(rule.when().get(k), at + ".when[" + k + "]", requestConditions, peerConditions, warnings);
    }

    Policy.Builder policy = Policy.newBuilder();
    if (rule.to().isEmpty()) {
      policy.addPermissions(andRules(requestConditions));
    }
    for (int j = 0; j < rule.to().size(); j++) {
      List<Permission> rules = operation(rule.to().get(j), at + ".to[" + j + "].operation", warnings);
      rules.addAll(requestConditions);
      policy.addPermissions(andRules(rules));
    }
    if (rule.from().isEmpty()) {
      policy.addPrincipals(andIds(peerConditions));
    }
    for (int j = 0; j < rule.from().size(); j++) {
      List<Principal> ids = source(rule.from().get(j), namespace, at + ".from[" + j + "].source", warnings);
      ids.addAll(peerConditions);
      policy.addPrincipals(andIds(ids));
    }
    return policy.build();
  }

  private List<Permission> operation(Operation operation, String at, Warnings warnings) {
    List<Permission> rules = new ArrayList<>();
    Function<String, Permission> host = v -> Permission.newBuilder()
        .setHeader(RbacMatchers.header(":authority", v, true)).build();
    Function<String, Permission> method = v -> Permission.newBuilder()
        .setHeader(RbacMatchers.header(":method", v, false)).build();
    Function<Integer, Permission> port = p -> Permission.newBuilder().setDestinationPort(p).build();
    addPermissions(rules, operation.hosts(), operation.notHosts(), host);
    addPermissions(rules, operation.methods(), operation.notMethods(), method);
    addPermissions(rules, operation.paths(), operation.notPaths(), RbacMatchers::path);
    addPermissions(rules, operation.ports(), operation.notPorts(), port);
    warnTemplates(operation.paths(), at + ".paths", warnings);
    warnTemplates(operation.notPaths(), at + ".notPaths", warnings);
    return rules;
  }

  private static void warnTemplates(List<String> paths, String at, Warnings warnings) {
    for (int m = 0; m < paths.size(); m++) {
      if (RbacMatchers.isPathTemplate(paths.get(m))) {
        warnings.add(at + "[" + m + "]", "path template '" + paths.get(m) + "' becomes Envoy's uri_template"
            + " matcher, which proxyless gRPC's RBAC filter (gRFC A41) does not accept: a gRPC server would"
            + " reject this authorization config");
      }
    }
  }

  private List<Principal> source(Source source, String namespace, String at, Warnings warnings) {
    List<Principal> ids = new ArrayList<>();
    addPrincipals(ids, aliases.expand(source.principals()), aliases.expand(source.notPrincipals()),
        RbacMatchers::principal);
    addPrincipals(ids, source.requestPrincipals(), source.notRequestPrincipals(), RbacMatchers::requestPrincipal);
    addPrincipals(ids, source.namespaces(), source.notNamespaces(), RbacMatchers::namespace);
    addPrincipals(ids, source.serviceAccounts(), source.notServiceAccounts(),
        v -> RbacMatchers.serviceAccount(v, namespace));
    addPrincipals(ids, source.remoteIpBlocks(), source.notRemoteIpBlocks(),
        v -> Principal.newBuilder().setRemoteIp(cidr(v)).build());
    addPrincipals(ids, source.ipBlocks(), source.notIpBlocks(),
        v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build());
    addPrincipals(ids, source.trustDomains(), source.notTrustDomains(), RbacMatchers::trustDomain);
    if (!source.requestPrincipals().isEmpty()) {
      warnings.add(at + ".requestPrincipals", jwtNotEnforced("requestPrincipals"));
    }
    if (!source.notRequestPrincipals().isEmpty()) {
      warnings.add(at + ".notRequestPrincipals", jwtNotEnforced("notRequestPrincipals"));
    }
    return ids;
  }

  private void condition(Condition condition, String at, List<Permission> request, List<Principal> peer,
      Warnings warnings) {
    String key = condition.key();
    List<String> values = condition.values();
    List<String> notValues = condition.notValues();
    List<String> args = brackets(key);
    if (key.startsWith("request.headers[")) {
      String name = args.get(0);
      addPrincipals(peer, values, notValues,
          v -> Principal.newBuilder().setHeader(RbacMatchers.header(name, v, false)).build());
      if (name.toLowerCase(java.util.Locale.ROOT).startsWith("grpc-")) {
        warnings.add(at + ".key", "proxyless gRPC's RBAC filter rejects header matchers on grpc-* headers:"
            + " a gRPC server would reject this authorization config");
      }
      return;
    }
    if (key.startsWith("request.auth.claims[")) {
      addSingle(peer, values, notValues, v -> RbacMatchers.claim(args, v));
      warnings.add(at, jwtNotEnforced(key));
      return;
    }
    if (key.startsWith(FILTER_METADATA_KEY)) {
      String filter = key.substring("experimental.".length(), key.indexOf('['));
      addSingleRule(request, values, notValues, v -> RbacMatchers.filterMetadata(filter, args, v));
      warnings.add(at, "not enforced by Inmesh: " + key + " matches another Envoy filter's dynamic metadata,"
          + " which Inmesh's data plane and proxyless gRPC don't have (gRPC treats it as never matching)");
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
        addPrincipals(peer, values, notValues, RbacMatchers::requestPrincipal);
        warnings.add(at, jwtNotEnforced(key));
      }
      case "request.auth.audiences" -> {
        addSingle(peer, values, notValues, v -> RbacMatchers.claim(List.of("aud"), v));
        warnings.add(at, jwtNotEnforced(key));
      }
      case "request.auth.presenter" -> {
        addSingle(peer, values, notValues, v -> RbacMatchers.claim(List.of("azp"), v));
        warnings.add(at, jwtNotEnforced(key));
      }
      case "destination.ip" -> addPermissions(request, values, notValues,
          v -> Permission.newBuilder().setDestinationIp(cidr(v)).build());
      case "destination.port" -> addPermissions(request, values, notValues,
          v -> Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build());
      case "connection.sni" -> addPermissions(request, values, notValues,
          v -> Permission.newBuilder().setRequestedServerName(RbacMatchers.string(v)).build());
      default -> warnings.add(at + ".key", "not enforced: Inmesh does not know the attribute '" + key
          + "'; the condition is left out, so the rule matches as if it were absent");
    }
  }

  private static String jwtNotEnforced(String field) {
    return "not enforced by Inmesh: " + field + " matches claims of a verified JWT, and Inmesh does not verify"
        + " JWTs yet (RequestAuthentication); the matcher reads the JWT filter's metadata as Istio's does, which"
        + " proxyless gRPC treats as never matching: an ALLOW clause with it never allows, a DENY clause never"
        + " denies, and its not-form always matches";
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
