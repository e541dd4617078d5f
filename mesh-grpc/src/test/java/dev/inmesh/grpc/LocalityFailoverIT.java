package dev.inmesh.grpc;

import static dev.inmesh.grpc.GrpcMesh.call;
import static dev.inmesh.grpc.GrpcMesh.split;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.testing.Await;
import io.grpc.ManagedChannel;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Istio's locality failover on proxyless gRPC: mesh-control gives grpc-xds EDS priorities relative
 * to the client's locality, and grpc-java's priority policy follows them. The client runs in
 * region1/zone1; one greeter in its zone, one in region2.
 */
class LocalityFailoverIT {
  private static final Locality LOCAL = new Locality("region1", "zone1", "");
  private static final Locality FAILOVER_REGION = new Locality("region2", "zone3", "");

  GrpcMesh mesh;
  GrpcMesh.Backend local;
  GrpcMesh.Backend remote;
  ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    mesh = new GrpcMesh();
    mesh.apply("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: greeter, namespace: default}
        spec:
          host: greeter
          trafficPolicy:
            loadBalancer:
              simple: ROUND_ROBIN
              localityLbSetting:
                enabled: true
                failover:
                - from: region1
                  to: region2
            outlierDetection:
              consecutive5xxErrors: 1
              interval: 1s
              baseEjectionTime: 1m
        """);
    local = mesh.backend("greeter", "local", true, LOCAL);
    remote = mesh.backend("greeter", "remote", true, FAILOVER_REGION);
    mesh.awaitWorkloads(2);
    channel = mesh.channel(mesh.client("productpage", true, LOCAL), "greeter:9000");
    mesh.awaitConverged();
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  void callsStayInTheLocalZoneWhileItIsUpAndGoToTheFailoverRegionWhenItStops() throws Exception {
    Await.until(() -> call(channel, Map.of()).equals("local"), GrpcMesh.WAIT, "the local greeter to answer");
    assertThat(split(channel, 30, Map.of())).containsOnly(Map.entry("local", 30));
    assertThat(remote.calls.get()).isZero();

    // the server stops; its workload stays registered, so EDS still lists it at priority 0 and
    // only grpc-java's priority policy can move the calls
    local.server.shutdownNow();
    local.server.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);

    Await.until(() -> call(channel, Map.of()).equals("remote"), GrpcMesh.WAIT, "the failover region to answer");
    assertThat(split(channel, 30, Map.of())).containsOnly(Map.entry("remote", 30));
    assertThat(mesh.control.workloads()).hasSize(2);
  }

  @Test
  void callsGoToTheFailoverRegionWhenOutlierDetectionEjectsTheLocalGreeter() {
    Await.until(() -> call(channel, Map.of()).equals("local"), GrpcMesh.WAIT, "the local greeter to answer");

    local.failWith.set(io.grpc.Status.UNAVAILABLE.withDescription("local greeter failing"));

    // grpc-java ejects by failure percentage in 1 s intervals; an ejected endpoint is not ready,
    // so its priority is not either and the calls move on
    Await.until(() -> call(channel, Map.of()).equals("remote"), GrpcMesh.WAIT, "the failover region to answer");
    int localCalls = local.calls.get();
    assertThat(split(channel, 30, Map.of())).containsOnly(Map.entry("remote", 30));
    assertThat(local.calls.get()).isEqualTo(localCalls);
  }
}
