package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.IstioSpec;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Istio's WorkloadGroup: the labels and the template (ports, service account) of the workloads
 * that register as one group. Inmesh reads it as a bound on registration: the group whose labels
 * say {@code app: S} names the service account that may serve S in its namespace.
 */
public record WorkloadGroup(Map<String, String> labels, Map<String, String> annotations, WorkloadEntry template)
    implements IstioSpec {
  public WorkloadGroup {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    Objects.requireNonNull(template, "template");
  }

  /** The labels its workloads carry: the group's own, then the template's. */
  public Map<String, String> workloadLabels() {
    Map<String, String> all = new HashMap<>(template.labels());
    all.putAll(labels);
    return Map.copyOf(all);
  }

  /** The service account its workloads run as; Kubernetes' {@code default} when the template names none. */
  public String serviceAccount() {
    return template.serviceAccount().isEmpty() ? "default" : template.serviceAccount();
  }
}
