package dev.inmesh.control.config.security;

import dev.inmesh.control.config.IstioSpec;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's AuthorizationPolicy. A request matches the policy when any rule matches; a rule matches
 * when any of its sources, any of its operations and all of its conditions match (empty lists
 * match everything). Istio's {@code from[].source} and {@code to[].operation} wrappers hold nothing
 * else, so the rule keeps the sources and operations directly.
 *
 * <p>Empty {@code rules} mean different things per action, as in Istio: ALLOW with no rules allows
 * nothing, DENY with no rules denies nothing.
 */
public record AuthorizationPolicy(
    Map<String, String> selector,
    Optional<PolicyTargetReference> targetRef,
    List<PolicyTargetReference> targetRefs,
    Action action,
    Optional<String> provider,
    List<Rule> rules) implements IstioSpec {

  public enum Action { ALLOW, DENY, AUDIT, CUSTOM }

  public AuthorizationPolicy {
    selector = Map.copyOf(selector);
    Objects.requireNonNull(targetRef, "targetRef");
    targetRefs = List.copyOf(targetRefs);
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(provider, "provider");
    rules = List.copyOf(rules);
    if (provider.isPresent() && action != Action.CUSTOM) {
      throw new IllegalArgumentException("provider is only for the CUSTOM action, got " + action);
    }
  }

  /** One rule: who ({@code from}), what ({@code to}) and under which conditions ({@code when}). */
  public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {
    public Rule {
      from = List.copyOf(from);
      to = List.copyOf(to);
      when = List.copyOf(when);
    }
  }

  /**
   * The peer of a request. Values are Istio's patterns: exact, {@code prefix*}, {@code *suffix} or
   * {@code *}; IP blocks are addresses or CIDR ranges.
   */
  public record Source(
      List<String> principals,
      List<String> notPrincipals,
      List<String> requestPrincipals,
      List<String> notRequestPrincipals,
      List<String> namespaces,
      List<String> notNamespaces,
      List<String> ipBlocks,
      List<String> notIpBlocks,
      List<String> remoteIpBlocks,
      List<String> notRemoteIpBlocks,
      List<String> serviceAccounts,
      List<String> notServiceAccounts,
      List<String> trustDomains,
      List<String> notTrustDomains) {
    public Source {
      principals = List.copyOf(principals);
      notPrincipals = List.copyOf(notPrincipals);
      requestPrincipals = List.copyOf(requestPrincipals);
      notRequestPrincipals = List.copyOf(notRequestPrincipals);
      namespaces = List.copyOf(namespaces);
      notNamespaces = List.copyOf(notNamespaces);
      ipBlocks = List.copyOf(ipBlocks);
      notIpBlocks = List.copyOf(notIpBlocks);
      remoteIpBlocks = List.copyOf(remoteIpBlocks);
      notRemoteIpBlocks = List.copyOf(notRemoteIpBlocks);
      serviceAccounts = List.copyOf(serviceAccounts);
      notServiceAccounts = List.copyOf(notServiceAccounts);
      trustDomains = List.copyOf(trustDomains);
      notTrustDomains = List.copyOf(notTrustDomains);
      if (!serviceAccounts.isEmpty() || !notServiceAccounts.isEmpty()) {
        if (!principals.isEmpty() || !notPrincipals.isEmpty() || !namespaces.isEmpty() || !notNamespaces.isEmpty()) {
          throw new IllegalArgumentException("Cannot set serviceAccounts with namespaces or principals");
        }
      }
    }
  }

  /** What the request asks for. Ports are already parsed; paths may use {@code {*}} and {@code {**}}. */
  public record Operation(
      List<String> hosts,
      List<String> notHosts,
      List<Integer> ports,
      List<Integer> notPorts,
      List<String> methods,
      List<String> notMethods,
      List<String> paths,
      List<String> notPaths) {
    public Operation {
      hosts = List.copyOf(hosts);
      notHosts = List.copyOf(notHosts);
      ports = List.copyOf(ports);
      notPorts = List.copyOf(notPorts);
      methods = List.copyOf(methods);
      notMethods = List.copyOf(notMethods);
      paths = List.copyOf(paths);
      notPaths = List.copyOf(notPaths);
      for (List<Integer> list : List.of(ports, notPorts)) {
        for (int port : list) {
          if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be between 1-65535, got " + port);
          }
        }
      }
    }
  }

  /** A {@code when} condition on one of Istio's attributes, such as {@code request.headers[x-token]}. */
  public record Condition(String key, List<String> values, List<String> notValues) {
    public Condition {
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("key is required, got '" + key + "'");
      }
      values = List.copyOf(values);
      notValues = List.copyOf(notValues);
      if (values.isEmpty() && notValues.isEmpty()) {
        throw new IllegalArgumentException("at least one of values or notValues must be set for key " + key);
      }
    }
  }
}
