package dev.inmesh.internal.security.authz;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One RBAC filter's rules: an action and the policies it applies to. The policies are tried in
 * order, so the first that matches is the one a decision names.
 */
public record RbacEngine(Action action, List<Policy> policies) {

  /** Envoy's RBAC actions; Istio's AUDIT becomes LOG. */
  public enum Action {
    /** A request must match a policy to pass. */
    ALLOW,
    /** A request that matches a policy is refused. */
    DENY,
    /** A match is recorded for the access log and decides nothing. */
    LOG
  }

  public RbacEngine {
    Objects.requireNonNull(action, "action");
    policies = List.copyOf(policies);
    Set<String> names = new HashSet<>();
    for (Policy policy : policies) {
      if (!names.add(policy.name())) {
        throw new IllegalArgumentException("policy name '" + policy.name() + "' appears twice");
      }
    }
  }

  /** The first policy that matches the request. */
  public Optional<Policy> firstMatch(AuthzRequest request) {
    for (Policy policy : policies) {
      if (policy.matches(request)) {
        return Optional.of(policy);
      }
    }
    return Optional.empty();
  }
}
