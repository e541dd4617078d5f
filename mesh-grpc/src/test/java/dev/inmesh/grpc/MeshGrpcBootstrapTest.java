package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.internal.xds.WorkloadMetadata;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** grpc-xds reads one bootstrap per process; two Meshes in one JVM must still speak for themselves. */
class MeshGrpcBootstrapTest {

  @SuppressWarnings("unchecked")
  private static Map<String, Object> metadata(Map<String, Object> bootstrap) {
    return (Map<String, Object>) ((Map<String, Object>) bootstrap.get("node")).get("metadata");
  }

  @Test
  void eachMeshInOneProcessGetsABootstrapThatSpeaksForItsOwnWorkload() {
    // nothing listens on port 1: the Meshes keep retrying, which is all this needs
    try (Mesh reviews = Mesh.builder().controlServers("127.0.0.1:1").service("reviews").namespace("shop")
            .servePort("grpc", 9080, 9080).build();
        Mesh ratings = Mesh.builder().controlServers("127.0.0.1:1").service("ratings").namespace("books")
            .servePort("grpc", 9081, 9081).build()) {
      Map<String, Object> forReviews = metadata(MeshGrpc.bootstrap(reviews));
      Map<String, Object> forRatings = metadata(MeshGrpc.bootstrap(ratings));

      assertThat(forReviews).containsEntry(WorkloadMetadata.OWNER, reviews.nodeId())
          .containsEntry(WorkloadMetadata.NAMESPACE, "shop").containsEntry(WorkloadMetadata.WORKLOAD_NAME, "reviews");
      assertThat(forRatings).containsEntry(WorkloadMetadata.OWNER, ratings.nodeId())
          .containsEntry(WorkloadMetadata.NAMESPACE, "books").containsEntry(WorkloadMetadata.WORKLOAD_NAME, "ratings");
    }
  }
}
