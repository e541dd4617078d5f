package dev.inmesh;

import dev.inmesh.internal.outbound.ClusterRuntimes;
import dev.inmesh.internal.xds.XdsResources;

/** Snapshots for tests of code that reads them, without an ADS stream. */
public final class TestSnapshots {
  private TestSnapshots() {}

  /** The snapshot a Mesh would hold after accepting {@code resources}, with {@code runtimes} as its clusters' state. */
  public static MeshSnapshot of(XdsResources resources, ClusterRuntimes runtimes) {
    return MeshSnapshot.empty(runtimes).next(resources);
  }
}
