package dev.inmesh.control.translate;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.security.PeerAuthentication;
import dev.inmesh.control.config.security.PeerAuthentication.Mode;
import dev.inmesh.control.translate.authz.AuthorizationTranslator;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The mutual-TLS mode in force on one workload port, resolved as Istio resolves PeerAuthentication:
 * the mesh-wide policy (root namespace, no selector), overridden by the namespace's policy (no
 * selector), overridden by a policy whose selector picks the workload, whose port-level setting
 * overrides it for that port. {@link Mode#UNSET} inherits at every level, and the mesh default is
 * PERMISSIVE. Where several policies compete at one level, the first by name wins, as Istio's
 * oldest-first rule does for policies created together.
 */
final class PeerAuthentications {
  private final List<ConfigResource> policies;
  private final String rootNamespace;

  PeerAuthentications(List<ConfigResource> policies, String rootNamespace) {
    this.policies = policies.stream()
        .filter(p -> p.spec() instanceof PeerAuthentication)
        .sorted(Comparator.comparing(ConfigResource::key))
        .toList();
    this.rootNamespace = rootNamespace;
  }

  static PeerAuthentications of(MeshState state) {
    return new PeerAuthentications(state.ofKind(PeerAuthentication.class), AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
  }

  /** The mode for traffic to {@code targetPort} of a workload; never UNSET. */
  Mode mode(String namespace, Map<String, String> labels, int targetPort) {
    Mode mode = Mode.PERMISSIVE;
    mode = inherit(mode, namespaceWide(rootNamespace).map(p -> p.mode()));
    if (!namespace.equals(rootNamespace)) {
      mode = inherit(mode, namespaceWide(namespace).map(p -> p.mode()));
    }
    Optional<PeerAuthentication> workload = forWorkload(namespace, labels);
    mode = inherit(mode, workload.map(PeerAuthentication::mode));
    Optional<Mode> port = workload.map(p -> p.portLevelMtls().get(targetPort));
    return inherit(mode, port);
  }

  /** The policy that decided {@link #mode}, for warnings; empty when the default did. */
  Optional<ConfigResource> decidingPolicy(String namespace, Map<String, String> labels) {
    return policies.stream()
        .filter(p -> selects(p, namespace, labels))
        .min(Comparator.comparing((ConfigResource p) -> p.spec(PeerAuthentication.class).selector().isEmpty() ? 1 : 0)
            .thenComparing(p -> p.namespace().equals(namespace) ? 0 : 1));
  }

  private static Mode inherit(Mode parent, Optional<Mode> child) {
    return child.filter(m -> m != Mode.UNSET).orElse(parent);
  }

  private Optional<PeerAuthentication> namespaceWide(String namespace) {
    return policies.stream()
        .filter(p -> p.namespace().equals(namespace))
        .map(p -> p.spec(PeerAuthentication.class))
        .filter(p -> p.selector().isEmpty())
        .findFirst();
  }

  private Optional<PeerAuthentication> forWorkload(String namespace, Map<String, String> labels) {
    return policies.stream()
        .filter(p -> p.namespace().equals(namespace))
        .map(p -> p.spec(PeerAuthentication.class))
        .filter(p -> !p.selector().isEmpty() && ServiceIndex.matches(p.selector(), labels))
        .findFirst();
  }

  private boolean selects(ConfigResource policy, String namespace, Map<String, String> labels) {
    PeerAuthentication spec = policy.spec(PeerAuthentication.class);
    if (spec.selector().isEmpty()) {
      return policy.namespace().equals(namespace) || policy.namespace().equals(rootNamespace);
    }
    return policy.namespace().equals(namespace) && ServiceIndex.matches(spec.selector(), labels);
  }
}
