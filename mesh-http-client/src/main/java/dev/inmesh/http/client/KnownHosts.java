package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import dev.inmesh.MeshSnapshot;
import dev.inmesh.internal.model.DestinationService;
import dev.inmesh.internal.outbound.ClusterRuntime;
import dev.inmesh.spi.CallRecorder;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the mesh knows of a host the caller dialled, read once per config rather than on every call:
 * whether a listener routes it, the service its whole-service cluster names, and the FQDN Istio
 * reports for it. Each answer holds the snapshot it was read from and is read again when the
 * config changes. At most {@value #MAX_HOSTS} hosts are kept; past that the memory starts over.
 */
final class KnownHosts {
  static final int MAX_HOSTS = 1024;

  private final Mesh mesh;
  private final CallRecorder recorder;
  private final Map<String, Host> hosts = new ConcurrentHashMap<>();

  /**
   * One host and port under one snapshot.
   *
   * @param routed whether a listener takes calls to it (else they pass through)
   * @param destination the service its whole-service cluster's metadata names, if any
   * @param serviceName the FQDN Istio reports for it ({@link CallRecorder#destinationService})
   */
  record Host(MeshSnapshot snapshot, int port, int defaultPort, boolean routed, Optional<DestinationService> destination,
      String serviceName) {}

  KnownHosts(Mesh mesh, CallRecorder recorder) {
    this.mesh = mesh;
    this.recorder = recorder;
  }

  Host get(String host, int port, int defaultPort) {
    MeshSnapshot snapshot = mesh.snapshot();
    Host known = hosts.get(host);
    if (known != null && known.snapshot() == snapshot && known.port() == port && known.defaultPort() == defaultPort) {
      return known;
    }
    String serviceName = recorder.destinationService(host);
    // a ServiceEntry's host as written (partner.example is no short name), else a service's FQDN
    Optional<ClusterRuntime> cluster = snapshot.cluster("outbound|" + port + "||" + host);
    if (cluster.isEmpty()) {
      cluster = snapshot.cluster("outbound|" + port + "||" + serviceName);
    }
    Host read = new Host(snapshot, port, defaultPort, snapshot.listener(host, port, defaultPort).isPresent(),
        cluster.flatMap(c -> c.config().service()), serviceName);
    if (hosts.size() >= MAX_HOSTS) {
      hosts.clear();
    }
    hosts.put(host, read);
    return read;
  }
}
