package dev.inmesh.grpc.spi;

import io.grpc.xds.XdsServerBuilder;
import java.util.Map;

/**
 * Where a {@code Mesh}'s grpc-xds channels and servers read their bootstrap, for a process that
 * holds several workloads.
 *
 * <p>Without an implementation, {@code MeshGrpc} uses grpc-xds's supported configuration: one
 * bootstrap per process, the first Mesh's, installed as the system property
 * {@code io.grpc.xds.bootstrapConfig} before grpc-xds reads it, and {@code xds:///} targets. A
 * second workload in that process gets a {@code MeshException}, because grpc-xds reads the
 * bootstrap once and would make its channels speak for the first one.
 *
 * <p>A process with several workloads (a demo, a test suite) puts one implementation on the class
 * path, found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/dev.inmesh.grpc.spi.XdsBootstraps}). grpc-xds 1.85 offers a bootstrap
 * per channel or server only through hooks it keeps for tests, so Inmesh ships none: mesh-grpc's
 * test jar holds the one its tests use. docs/grpc.md says when to use which.
 */
public interface XdsBootstraps {
  /**
   * Gives one Mesh's channels and servers {@code bootstrap}, grpc-xds's bootstrap as JSON objects
   * (maps, lists and strings). {@code MeshGrpc} calls it once per Mesh, on its first channel or
   * server, and keeps the answer as long as the Mesh is reachable.
   *
   * @param workload the Mesh's workload as errors should name it, e.g. {@code reviews.default (node reviews~…)}
   * @throws dev.inmesh.MeshException when this process cannot give the Mesh its own bootstrap
   */
  Binding bind(String workload, Map<String, ?> bootstrap);

  /** One Mesh's way to its bootstrap. */
  interface Binding {
    /** The target a channel dials to reach {@code authority} ({@code host:port}) through xDS. */
    String channelTarget(String authority);

    /** {@code builder}, made to read the Mesh's bootstrap. */
    XdsServerBuilder configure(XdsServerBuilder builder);

    /** Called when the Mesh is gone: undoes what {@link #bind} registered. */
    default void release() {}
  }
}
