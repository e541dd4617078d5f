package dev.inmesh.control.translate.authz;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.config.security.AuthorizationPolicy.Action;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Translates the AuthorizationPolicies that apply to one workload into Envoy's RBAC HTTP filter
 * configs ({@code envoy.extensions.filters.http.rbac.v3.RBAC}), the shapes Istio generates and
 * both proxyless gRPC (gRFC A41) and Inmesh's data plane read.
 *
 * <p>As in Istio: DENY policies go to one filter and ALLOW policies to another, checked after it;
 * without ALLOW policies there is no ALLOW filter, so nothing is denied for lack of a match. AUDIT
 * policies go to a LOG filter, which Inmesh's servers answer with an audit log line. Policies
 * annotated {@code istio.io/dry-run: "true"} become shadow rules of their action's filter, which
 * Inmesh's servers count and log. grpc-java's RBAC filter ignores both (MeshGrpc's servers log
 * them from Inmesh's own stream); for proxyless gRPC servers they are reported. Policies attached through {@code targetRef} govern no workload
 * here and are reported.
 *
 * <p>What the servers cannot evaluate fails closed, as Istio's does. A CUSTOM policy (Inmesh has
 * no ext_authz) denies what its rules match, as Istio does when the provider cannot be used. A
 * field the {@link AuthorizationConfig.DataPlane} cannot evaluate (JWT claims everywhere; for
 * proxyless gRPC also the TLS server name, path templates and grpc-* headers) is left out of a
 * DENY, AUDIT or CUSTOM rule, which so matches more, and drops an ALLOW rule, which so allows
 * less. It never throws for a valid policy: each of these is listed in the result's warnings with
 * the resource and the field.
 */
public final class AuthorizationTranslator {
  public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";
  public static final String DRY_RUN_ANNOTATION = "istio.io/dry-run";
  static final String SHADOW_ALLOW_STAT_PREFIX = "istio_dry_run_allow_";
  static final String SHADOW_DENY_STAT_PREFIX = "istio_dry_run_deny_";
  private static final Set<String> TRUE = Set.of("1", "t", "T", "TRUE", "true", "True");
  private static final Set<String> FALSE = Set.of("0", "f", "F", "FALSE", "false", "False");

  private final PolicyBuilder builder;
  private final AuthorizationConfig.DataPlane dataPlane;

  private AuthorizationTranslator(AuthorizationConfig config) {
    this.builder = new PolicyBuilder(config);
    this.dataPlane = config.dataPlane();
  }

  public static AuthorizationTranslator of(AuthorizationConfig config) {
    return new AuthorizationTranslator(Objects.requireNonNull(config, "config"));
  }

  /**
   * Istio's rule for which workloads a policy governs: a policy in the root namespace applies to
   * the whole mesh, any other only to its own namespace; without a selector it applies to every
   * workload there, with one to the workloads whose labels include all of the selector's. Policies
   * attached by {@code targetRef(s)} govern gateways and waypoints, which a sidecar-less workload
   * is not: they apply to no workload here (see {@link #notEnforced}), as they apply to no sidecar
   * in Istio.
   */
  public static boolean appliesTo(ConfigResource policy, String namespace, Map<String, String> workloadLabels,
      String rootNamespace) {
    if (!(policy.spec() instanceof AuthorizationPolicy spec) || hasTargetRef(spec)) {
      return false;
    }
    String root = rootNamespace == null || rootNamespace.isEmpty() ? DEFAULT_ROOT_NAMESPACE : rootNamespace;
    if (!policy.namespace().equals(namespace) && !policy.namespace().equals(root)) {
      return false;
    }
    return spec.selector().entrySet().stream()
        .allMatch(label -> label.getValue().equals(workloadLabels.get(label.getKey())));
  }

  /**
   * The warnings for policies that apply to no workload as a whole: those attached by
   * {@code targetRef(s)}. Report them once per config change; {@link #translate} reports the same
   * for the policies it is given.
   */
  public static List<Problem> notEnforced(Collection<ConfigResource> policies) {
    List<Problem> warnings = new ArrayList<>();
    for (ConfigResource resource : policies) {
      if (resource.spec() instanceof AuthorizationPolicy spec) {
        unenforcedReason(resource, spec).ifPresent(warnings::add);
      }
    }
    return List.copyOf(warnings);
  }

  /** The RBAC filters for the policies that apply to one workload (see {@link #appliesTo}). */
  public AuthorizationFilters translate(Collection<ConfigResource> policies) {
    Map<Action, Map<String, Policy>> enforced = new EnumMap<>(Action.class);
    Map<Action, Map<String, Policy>> shadow = new EnumMap<>(Action.class);
    List<Problem> warnings = new ArrayList<>();
    List<ConfigResource> sorted = policies.stream().sorted(Comparator.comparing(ConfigResource::key)).toList();
    for (ConfigResource resource : sorted) {
      if (!(resource.spec() instanceof AuthorizationPolicy spec)) {
        warnings.add(warning(resource, "kind", "not an AuthorizationPolicy; ignored by the authorization"
            + " translator"));
        continue;
      }
      Optional<Problem> unenforced = unenforcedReason(resource, spec);
      if (unenforced.isPresent()) {
        warnings.add(unenforced.get());
        continue;
      }
      if (spec.action() == Action.CUSTOM) {
        warnings.add(warning(resource, "spec.action", "enforced fail-closed: Inmesh has no external authorization"
            + " (ext_authz), so provider '" + spec.provider().orElse("") + "' is never asked; every request a rule of"
            + " this policy matches is denied, as Istio denies it when it cannot use the provider"));
      }
      Map<String, Policy> rules = builder.build(resource.namespace(), resource.name(), spec,
          (field, message) -> warnings.add(warning(resource, field, message)));
      boolean dryRun = isDryRun(resource, warnings);
      // an empty map still makes the filter: ALLOW rules that were all dropped allow nothing
      Action filterAction = spec.action() == Action.CUSTOM ? Action.DENY : spec.action();
      (dryRun ? shadow : enforced).computeIfAbsent(filterAction, a -> new LinkedHashMap<>()).putAll(rules);
      if (spec.action() == Action.AUDIT && dataPlane == AuthorizationConfig.DataPlane.PROXYLESS_GRPC) {
        warnings.add(warning(resource, "spec.action", "AUDIT becomes an RBAC filter with action LOG, which"
            + " grpc-java's RBAC filter accepts and ignores: a proxyless gRPC server writes no audit line unless it"
            + " is built with MeshGrpc, which logs the calls grpc-java allowed from Inmesh's own stream"));
      }
      if (dryRun && dataPlane == AuthorizationConfig.DataPlane.PROXYLESS_GRPC) {
        warnings.add(warning(resource, "metadata.annotations." + DRY_RUN_ANNOTATION, "dry-run policies become RBAC"
            + " shadow rules, which grpc-java's RBAC filter ignores: a proxyless gRPC server neither counts nor logs"
            + " what the policy would decide unless it is built with MeshGrpc, which does so from Inmesh's own"
            + " stream; the policy is not enforced"));
      }
    }
    return new AuthorizationFilters(
        filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.LOG, enforced.get(Action.AUDIT), shadow.get(Action.AUDIT)),
        filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY, enforced.get(Action.DENY), shadow.get(Action.DENY)),
        filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW, enforced.get(Action.ALLOW),
            shadow.get(Action.ALLOW)),
        warnings);
  }

  private static Optional<RBAC> filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action,
      Map<String, Policy> enforced, Map<String, Policy> shadow) {
    if (enforced == null && shadow == null) {
      return Optional.empty();
    }
    RBAC.Builder rbac = RBAC.newBuilder();
    if (enforced != null) {
      rbac.setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder().setAction(action).putAllPolicies(enforced));
    }
    if (shadow != null) {
      rbac.setShadowRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder().setAction(action)
          .putAllPolicies(shadow));
    }
    // Istio's stat prefix: "deny" only when there are DENY shadow rules, "allow" for every other filter
    boolean denyShadow = shadow != null && action == io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY;
    rbac.setShadowRulesStatPrefix(denyShadow ? SHADOW_DENY_STAT_PREFIX : SHADOW_ALLOW_STAT_PREFIX);
    return Optional.of(rbac.build());
  }

  private static Optional<Problem> unenforcedReason(ConfigResource resource, AuthorizationPolicy spec) {
    if (spec.targetRef().isPresent() || !spec.targetRefs().isEmpty()) {
      String field = spec.targetRef().isPresent() ? "spec.targetRef" : "spec.targetRefs";
      return Optional.of(warning(resource, field, "not enforced by Inmesh: a policy attached by targetRef"
          + " governs a gateway or waypoint, and sidecar-less workloads have neither; use a selector"));
    }
    return Optional.empty();
  }

  private static boolean hasTargetRef(AuthorizationPolicy spec) {
    return spec.targetRef().isPresent() || !spec.targetRefs().isEmpty();
  }

  /** Istio reads the annotation with Go's ParseBool and treats anything else as "not dry-run". */
  private static boolean isDryRun(ConfigResource resource, List<Problem> warnings) {
    String value = resource.annotations().get(DRY_RUN_ANNOTATION);
    if (value == null || FALSE.contains(value)) {
      return false;
    }
    if (TRUE.contains(value)) {
      return true;
    }
    warnings.add(warning(resource, "metadata.annotations." + DRY_RUN_ANNOTATION, "not a boolean: '" + value
        + "'; the policy is enforced, not dry-run"));
    return false;
  }

  private static Problem warning(ConfigResource resource, String field, String message) {
    return new Problem(Problem.Severity.WARNING, resource.source(), resource.key().toString(), field, message);
  }
}
