package dev.inmesh.control.registry;

import dev.inmesh.internal.xds.WorkloadMetadata;
import java.time.Instant;
import java.util.Objects;

/** A workload that registered itself over ADS: its node id, what it said about itself, and when. */
public record Workload(String nodeId, WorkloadMetadata metadata, Instant registeredAt) {
  public Workload {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(registeredAt, "registeredAt");
  }
}
