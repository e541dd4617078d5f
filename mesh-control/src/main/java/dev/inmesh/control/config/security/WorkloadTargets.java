package dev.inmesh.control.config.security;

import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.SpecReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How a security policy picks the workloads it applies to: a label {@code selector}, or a
 * {@code targetRef}/{@code targetRefs} naming a Service, ServiceEntry or Gateway. Istio's CRD
 * schema and CEL rules for these fields are shared by the three security kinds, so they live here.
 */
final class WorkloadTargets {
  private static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern KIND = Pattern.compile("[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?");
  private static final int MAX_TARGET_REFS = 16;
  /** The group/kind pairs Istio's CEL rule lets a policy attach to ("core" and "" both mean core). */
  private static final Set<String> SUPPORTED_TARGETS = Set.of(
      "/Service", "core/Service", "networking.istio.io/ServiceEntry", "gateway.networking.k8s.io/Gateway");

  private WorkloadTargets() {}

  /** Reads {@code selector.matchLabels}; an absent or empty selector means the whole namespace. */
  static Map<String, String> selector(SpecReader spec) {
    Optional<SpecReader> selector = spec.object("selector");
    if (selector.isEmpty()) {
      return Map.of();
    }
    Map<String, String> labels = selector.get().stringMap("matchLabels");
    checkLabels(selector.get(), "matchLabels", labels);
    selector.get().finish();
    return labels;
  }

  /** Kubernetes label syntax plus Istio's rule that selectors match exact labels, never patterns. */
  static void checkLabels(SpecReader reader, String field, Map<String, String> labels) {
    labels.forEach((key, value) -> {
      String at = field + "." + key;
      if (key.isEmpty()) {
        reader.error(field, "empty key is not supported in selector");
      } else if (key.contains("*") || value.contains("*")) {
        reader.error(at, "wildcard is not supported in selector, got '" + key + ": " + value + "'");
      } else {
        if (!isLabelKey(key)) {
          reader.error(at, "invalid label key '" + key + "': must be a name of at most 63 characters,"
              + " optionally prefixed by a DNS subdomain and '/'");
        }
        if (!value.isEmpty() && !LABEL_NAME.matcher(value).matches()) {
          reader.error(at, "invalid label value '" + value + "': at most 63 letters, digits, '-', '_' or '.',"
              + " starting and ending with a letter or digit");
        }
      }
    });
  }

  private static boolean isLabelKey(String key) {
    int slash = key.indexOf('/');
    if (slash < 0) {
      return LABEL_NAME.matcher(key).matches();
    }
    String prefix = key.substring(0, slash);
    return prefix.length() <= 253 && DNS_SUBDOMAIN.matcher(prefix).matches()
        && LABEL_NAME.matcher(key.substring(slash + 1)).matches();
  }

  static Optional<PolicyTargetReference> targetRef(SpecReader spec) {
    return spec.object("targetRef").flatMap(WorkloadTargets::readReference);
  }

  static List<PolicyTargetReference> targetRefs(SpecReader spec) {
    List<SpecReader> readers = spec.list("targetRefs");
    if (readers.size() > MAX_TARGET_REFS) {
      spec.error("targetRefs", "must have at most " + MAX_TARGET_REFS + " items, got " + readers.size());
    }
    List<PolicyTargetReference> refs = new ArrayList<>();
    for (SpecReader reader : readers) {
      readReference(reader).ifPresent(refs::add);
    }
    return refs;
  }

  /** Istio's CEL rule: at most one of selector, targetRef and targetRefs, counting fields that are present. */
  static void checkOneOf(SpecReader spec) {
    int set = 0;
    for (String field : new String[] {"selector", "targetRef", "targetRefs"}) {
      if (spec.has(field)) {
        set++;
      }
    }
    if (set > 1) {
      spec.error(null, "only one of targetRefs or selector can be set (selector, targetRef and targetRefs"
          + " are mutually exclusive)");
    }
  }

  private static Optional<PolicyTargetReference> readReference(SpecReader ref) {
    String group = ref.string("group").orElse("");
    String kind = ref.requiredString("kind");
    String name = ref.requiredString("name");
    String namespace = ref.string("namespace").orElse("");
    ref.finish();
    boolean valid = !kind.isEmpty() && !name.isEmpty();
    if (group.length() > 253 || !(group.isEmpty() || DNS_SUBDOMAIN.matcher(group).matches())) {
      ref.error("group", "must be empty or a lowercase DNS subdomain, got '" + group + "'");
      valid = false;
    }
    if (!kind.isEmpty() && (kind.length() > 63 || !KIND.matcher(kind).matches())) {
      ref.error("kind", "must be a resource kind such as Service (letters, digits and '-'), got '" + kind + "'");
      valid = false;
    }
    if (name.length() > 253) {
      ref.error("name", "must be at most 253 characters, got " + name.length());
      valid = false;
    }
    if (!namespace.isEmpty()) {
      ref.error("namespace", "cross namespace referencing is not currently supported: leave namespace empty,"
          + " the target is looked up in the policy's own namespace (got '" + namespace + "')");
      valid = false;
    }
    if (valid && !SUPPORTED_TARGETS.contains(group + "/" + kind)) {
      ref.error(null, "Support kinds are core/Service, networking.istio.io/ServiceEntry and"
          + " gateway.networking.k8s.io/Gateway, got '" + (group.isEmpty() ? "core" : group) + "/" + kind + "'");
      valid = false;
    }
    return valid ? Optional.of(new PolicyTargetReference(group, kind, name)) : Optional.empty();
  }

  /** Reads a list of strings and reports each empty one, as Istio's {@code minLength: 1} does. */
  static List<String> nonEmptyStrings(SpecReader reader, String field) {
    List<String> values = reader.stringList(field);
    for (int i = 0; i < values.size(); i++) {
      if (values.get(i).isEmpty()) {
        reader.error(field + "[" + i + "]", "must not be empty");
      }
    }
    return values;
  }

  /** How many errors have been reported so far; lets a rule speak only when nothing else did. */
  static long errorCount(SpecReader reader) {
    return reader.diagnostics().problems().stream().filter(Problem::isError).count();
  }
}
