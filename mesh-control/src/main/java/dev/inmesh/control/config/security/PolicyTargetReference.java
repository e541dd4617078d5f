package dev.inmesh.control.config.security;

import java.util.Objects;

/**
 * Istio's {@code PolicyTargetReference}: the Service, ServiceEntry or Gateway a policy attaches to
 * instead of a workload selector. {@code group} is empty for the core group; the reference is
 * always in the policy's own namespace, because Istio rejects cross-namespace references.
 */
public record PolicyTargetReference(String group, String kind, String name) {
  public PolicyTargetReference {
    Objects.requireNonNull(group, "group");
    if (kind == null || kind.isEmpty()) {
      throw new IllegalArgumentException("kind is required, got '" + kind + "'");
    }
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("name is required, got '" + name + "'");
    }
  }
}
