package dev.inmesh.internal.security.authz;

import java.util.List;
import java.util.Optional;

/**
 * All the RBAC engines of one inbound listener, composed as Istio's filter chain does: every DENY
 * engine is checked first and any match refuses the request; then every ALLOW engine must have a
 * matching policy; with no engines at all, everything is allowed. LOG engines never decide.
 *
 * <p>Shadow engines are Istio's dry-run ({@code istio.io/dry-run}) policies: they are evaluated the
 * same way by {@link #evaluateShadow} so that the outcome can be logged, and never enforced.
 *
 * <p>Transport-neutral: each server adapts its request to an {@link AuthzRequest}.
 */
public record AuthorizationEngine(List<RbacEngine> engines, List<RbacEngine> shadowEngines) {
  /** No policies: every request is allowed. */
  public static final AuthorizationEngine EMPTY = new AuthorizationEngine(List.of(), List.of());

  public AuthorizationEngine {
    engines = List.copyOf(engines);
    shadowEngines = List.copyOf(shadowEngines);
  }

  public AuthzDecision evaluate(AuthzRequest request) {
    return decide(engines, request);
  }

  /** What the dry-run policies would decide; empty when there are none. */
  public Optional<AuthzDecision> evaluateShadow(AuthzRequest request) {
    boolean deciding = shadowEngines.stream().anyMatch(e -> e.action() != RbacEngine.Action.LOG);
    return deciding ? Optional.of(decide(shadowEngines, request)) : Optional.empty();
  }

  /** The first LOG (Istio AUDIT) policy that matches, for the access log. */
  public Optional<String> auditPolicy(AuthzRequest request) {
    for (RbacEngine engine : engines) {
      if (engine.action() == RbacEngine.Action.LOG) {
        Optional<Policy> match = engine.firstMatch(request);
        if (match.isPresent()) {
          return Optional.of(match.get().name());
        }
      }
    }
    return Optional.empty();
  }

  private static AuthzDecision decide(List<RbacEngine> engines, AuthzRequest request) {
    // DENY before ALLOW whatever the order of the filters, so that a refusal names the DENY policy.
    for (RbacEngine engine : engines) {
      if (engine.action() == RbacEngine.Action.DENY) {
        Optional<Policy> match = engine.firstMatch(request);
        if (match.isPresent()) {
          return new AuthzDecision.Denied(match.get().name());
        }
      }
    }
    Optional<String> allowedBy = Optional.empty();
    for (RbacEngine engine : engines) {
      if (engine.action() == RbacEngine.Action.ALLOW) {
        Optional<Policy> match = engine.firstMatch(request);
        if (match.isEmpty()) {
          return new AuthzDecision.Denied(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED);
        }
        allowedBy = allowedBy.or(() -> Optional.of(match.get().name()));
      }
    }
    return new AuthzDecision.Allowed(allowedBy);
  }
}
