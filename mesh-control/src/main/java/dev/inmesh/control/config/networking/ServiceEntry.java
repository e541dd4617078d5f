package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.IstioSpec;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Istio's ServiceEntry: a service the mesh knows by declaration rather than by registration.
 * {@code subjectAltNames} are identities its endpoints may present under mesh mTLS, added to those
 * of the workloads that serve it.
 */
public record ServiceEntry(List<String> hosts, List<String> addresses, List<Port> ports, Location location,
    Resolution resolution, List<WorkloadEntry> endpoints, Optional<Map<String, String>> workloadSelector,
    List<String> exportTo, List<String> subjectAltNames) implements IstioSpec {
  public ServiceEntry {
    subjectAltNames = List.copyOf(subjectAltNames);
    hosts = List.copyOf(hosts);
    addresses = List.copyOf(addresses);
    ports = List.copyOf(ports);
    endpoints = List.copyOf(endpoints);
    exportTo = List.copyOf(exportTo);
  }

  public enum Location { MESH_EXTERNAL, MESH_INTERNAL }

  public enum Resolution { NONE, STATIC, DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS }

  public record Port(int number, String protocol, String name, int targetPort) {}
}
