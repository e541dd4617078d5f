package dev.inmesh.internal.outbound;

import dev.inmesh.MeshException;
import dev.inmesh.MeshSnapshot;

/**
 * What the outbound pipeline reads from the workload it runs in: the config in force, this
 * workload's address and whether it holds a mesh certificate. The {@code Mesh} implements it; a
 * test gives a fixed snapshot.
 */
public interface SnapshotSource {
  /**
   * The config in force once it is complete; before the first complete config arrives, waits for
   * it (bounded) and throws a {@link MeshException} that says what is still missing.
   */
  MeshSnapshot ready();

  /** This workload's address: the key of a {@code SOURCE_IP} hash policy. */
  String sourceAddress();

  /** Whether this workload can present a mesh certificate; a cluster that requires mTLS fails fast without one. */
  boolean hasMeshCertificate();
}
