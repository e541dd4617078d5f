package dev.inmesh.control.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.inmesh.internal.xds.WorkloadMetadata;
import java.io.IOException;
import java.time.Instant;
import java.util.Optional;

/**
 * A registered workload as JSON, the way the stores keep it: its node id, when it registered, and
 * its node as the xDS JSON mapping prints it (the metadata it registered with).
 */
public final class WorkloadJson {
  private static final ObjectMapper JSON = new ObjectMapper();

  private WorkloadJson() {
  }

  public static ObjectNode toJson(Workload workload) {
    try {
      String node = workload.metadata().toNodeJson(workload.nodeId());
      ObjectNode json = JSON.createObjectNode()
          .put("nodeId", workload.nodeId())
          .put("registeredAt", workload.registeredAt().toString());
      json.set("node", JSON.readTree(node));
      return json;
    } catch (IOException e) {
      throw new IllegalStateException("a node always prints as JSON", e);
    }
  }

  public static String encode(Workload workload) {
    return toJson(workload).toString();
  }

  /**
   * The workload {@code value} describes; empty when its node names no service.
   *
   * @throws IOException when {@code value} is not a workload's JSON
   */
  public static Optional<Workload> fromJson(JsonNode value) throws IOException {
    Optional<WorkloadMetadata> metadata;
    try {
      metadata = WorkloadMetadata.fromNodeJson(value.path("node").toString());
      return metadata.map(meta -> new Workload(value.path("nodeId").asText(), meta, Instant.parse(value.path("registeredAt").asText())));
    } catch (RuntimeException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  public static Optional<Workload> decode(String text) throws IOException {
    return fromJson(JSON.readTree(text));
  }
}
