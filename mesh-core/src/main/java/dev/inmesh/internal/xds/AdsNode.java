package dev.inmesh.internal.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.inmesh.MeshConfig;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.UUID;

/**
 * The xDS node a Mesh speaks as on its ADS and LRS streams. A workload that serves a service
 * announces it ({@link WorkloadMetadata#toNode}), so mesh-control registers it; a pure client says
 * only its namespace and locality. The Envoy {@link Node} stays inside this package: the rest of
 * mesh-core sees the {@link #id()}.
 */
public final class AdsNode {
  private final Node proto;

  AdsNode(Node proto) {
    this.proto = proto;
  }

  /**
   * The node of a Mesh with {@code config}, under a fresh id ({@code <workload>~<uuid>}, or
   * {@code client~<uuid>}). {@code holdsCertificate}: the Mesh has a mesh certificate, so
   * mesh-control may send it mutual TLS clusters.
   */
  public static AdsNode of(MeshConfig config, boolean holdsCertificate) {
    Node node = config.workload()
        .map(w -> w.toNode(w.workloadName() + "~" + UUID.randomUUID()))
        .orElseGet(() -> clientNode(config));
    if (config.role() == MeshConfig.Role.GATEWAY) {
      Struct.Builder labels = Struct.newBuilder();
      config.labels().forEach((k, v) -> labels.putFields(k, Value.newBuilder().setStringValue(v).build()));
      node = node.toBuilder().setMetadata(node.getMetadata().toBuilder()
          .putFields(WorkloadMetadata.GATEWAY, Value.newBuilder().setStringValue("true").build())
          .putFields(WorkloadMetadata.LABELS, Value.newBuilder().setStructValue(labels).build())).build();
    }
    if (holdsCertificate) {
      // mesh-control sends mutual TLS clusters only to clients that can present a certificate
      node = node.toBuilder().setMetadata(node.getMetadata().toBuilder()
          .putFields(WorkloadMetadata.MTLS, Value.newBuilder().setStringValue("true").build())).build();
    }
    return new AdsNode(node);
  }

  private static Node clientNode(MeshConfig config) {
    Struct metadata = Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, Value.newBuilder().setStringValue(config.namespace()).build())
        .build();
    return Node.newBuilder()
        .setId("client~" + UUID.randomUUID())
        .setMetadata(metadata)
        .setUserAgentName("inmesh")
        .setLocality(Locality.newBuilder()
            .setRegion(config.locality().region()).setZone(config.locality().zone()).setSubZone(config.locality().subZone()))
        .build();
  }

  /** The node's id, unique per Mesh instance. */
  public String id() {
    return proto.getId();
  }

  Node proto() {
    return proto;
  }

  @Override
  public String toString() {
    return proto.getId();
  }
}
