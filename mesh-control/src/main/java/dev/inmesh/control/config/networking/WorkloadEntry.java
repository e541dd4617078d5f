package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.IstioSpec;
import java.util.Map;

/** Istio's WorkloadEntry: a workload outside the mesh's own registration, such as a VM. */
public record WorkloadEntry(String address, Map<String, Integer> ports, Map<String, String> labels, String network,
    String locality, int weight, String serviceAccount) implements IstioSpec {
  public WorkloadEntry {
    ports = Map.copyOf(ports);
    labels = Map.copyOf(labels);
  }
}
