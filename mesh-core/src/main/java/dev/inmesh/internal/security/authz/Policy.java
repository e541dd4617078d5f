package dev.inmesh.internal.security.authz;

import java.util.Objects;

/**
 * One named rule: it matches when the request's permission and its principal both match. Envoy's
 * lists of permissions and principals are each one {@code Or}; Istio names a policy
 * {@code ns[<ns>]-policy[<name>]-rule[<index>]}, which is what a decision reports.
 */
public record Policy(String name, Permission permission, Principal principal) {
  public Policy {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("policy name must not be empty");
    }
    Objects.requireNonNull(permission, "permission of " + name);
    Objects.requireNonNull(principal, "principal of " + name);
  }

  public boolean matches(AuthzRequest request) {
    return permission.matches(request) && principal.matches(request);
  }
}
