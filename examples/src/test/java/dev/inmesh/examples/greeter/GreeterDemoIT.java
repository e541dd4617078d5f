package dev.inmesh.examples.greeter;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Runs the demo as {@code bin/demo} does, in this JVM. It must stay the only integration test in
 * this module that dials {@code xds:///} through the process-wide bootstrap: grpc-xds reads it once
 * per JVM, and failsafe gives each module one JVM ({@code MeshGrpc} channels bring their own, through
 * mesh-grpc's test jar: docs/grpc.md, "One bootstrap per process").
 */
class GreeterDemoIT {

  @Test
  void plainGrpcXdsClientFollowsTheEightyTwentySplitAndThenTheRollbackToV1() throws Exception {
    GreeterDemo.Result result = GreeterDemo.run(System.out);

    assertThat(result.weighted().failed()).isZero();
    assertThat(result.weighted().percent("v1")).isBetween(75.0, 85.0);
    assertThat(result.weighted().percent("v2")).isBetween(15.0, 25.0);
    assertThat(result.rolledBack().failed()).isZero();
    assertThat(result.rolledBack().answers()).containsExactly(Map.entry("v1", 1000));
  }
}
