package dev.inmesh.internal.security.authz;

import java.util.Objects;
import java.util.Optional;

/** The outcome of authorization, with the policy that decided so that a request can explain itself. */
public sealed interface AuthzDecision {

  /**
   * The request may proceed.
   *
   * @param matchedPolicy the ALLOW policy that let it through; empty when no ALLOW policy applies
   *     to the workload (everything not denied is allowed)
   */
  record Allowed(Optional<String> matchedPolicy) implements AuthzDecision {
    public Allowed {
      Objects.requireNonNull(matchedPolicy, "matchedPolicy");
    }
  }

  /**
   * The request is refused.
   *
   * @param policyOrReason the DENY policy that matched, or why no ALLOW policy let it through
   */
  record Denied(String policyOrReason) implements AuthzDecision {
    /** The reason when ALLOW policies exist and none of them matched. */
    public static final String NO_ALLOW_POLICY_MATCHED = "no ALLOW policy matched";

    public Denied {
      Objects.requireNonNull(policyOrReason, "policyOrReason");
    }
  }

  default boolean isAllowed() {
    return this instanceof Allowed;
  }
}
