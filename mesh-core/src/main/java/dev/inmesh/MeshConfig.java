package dev.inmesh;

import dev.inmesh.Locality;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link Mesh} runs: the control servers to try in order, who this workload is, and the
 * bound on how long a first call waits for config. Built by {@link Mesh#builder()}.
 */
public record MeshConfig(
    List<String> controlServers,
    String namespace,
    Optional<String> service,
    String serviceAccount,
    Map<String, String> labels,
    Locality locality,
    String address,
    List<ServicePort> ports,
    Duration readyTimeout,
    Role role) {

  /**
   * What the workload is to the control plane: a mesh workload, or an Istio gateway, whose labels
   * Gateways' {@code selector}s pick and which is sent their listeners and routes.
   */
  public enum Role { WORKLOAD, GATEWAY }

  /** A mesh workload's (or a pure client's) config. */
  public MeshConfig(List<String> controlServers, String namespace, Optional<String> service, String serviceAccount,
      Map<String, String> labels, Locality locality, String address, List<ServicePort> ports, Duration readyTimeout) {
    this(controlServers, namespace, service, serviceAccount, labels, locality, address, ports, readyTimeout, Role.WORKLOAD);
  }

  public MeshConfig {
    Objects.requireNonNull(role, "role");
    controlServers = List.copyOf(controlServers);
    if (controlServers.isEmpty()) {
      throw new IllegalArgumentException("at least one control server is needed, e.g. 127.0.0.1:15010");
    }
    for (String server : controlServers) {
      if (!server.matches("[^:/\\s]+:\\d{1,5}")) {
        throw new IllegalArgumentException("control server must be host:port, got '" + server + "'");
      }
    }
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(service, "service");
    labels = Map.copyOf(labels);
    locality = Objects.requireNonNullElse(locality, Locality.UNKNOWN);
    ports = List.copyOf(ports);
    if (service.isPresent() && ports.isEmpty()) {
      throw new IllegalArgumentException("workload " + service.get() + " serves no port: add one with servePort(...)");
    }
    if (readyTimeout.isNegative()) {
      throw new IllegalArgumentException("readyTimeout must not be negative, got " + readyTimeout);
    }
  }

  /** The registration metadata when this process serves a service; empty for a pure client. */
  public Optional<WorkloadMetadata> workload() {
    return service.map(s -> new WorkloadMetadata(s, namespace, serviceAccount, s, labels, address, ports, locality));
  }
}
