package dev.inmesh.grpc;

import static dev.inmesh.grpc.GrpcMesh.call;
import static dev.inmesh.grpc.GrpcMesh.split;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Routing, resilience and balancing through {@link MeshGrpc#channel}, every hop over mesh mTLS
 * (the namespace is STRICT): grpc-java does the work, configured by mesh-control over xDS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeshGrpcRoutingIT {
  private static final String SUBSETS = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: greeter, namespace: default}
      spec:
        host: greeter
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
      """;

  GrpcMesh mesh;
  GrpcMesh.Backend v1;
  GrpcMesh.Backend v2;
  ManagedChannel channel;

  @BeforeAll
  void start() throws Exception {
    mesh = new GrpcMesh();
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: default}
        spec: {mtls: {mode: STRICT}}
        """);
    v1 = mesh.backend("greeter", "v1", true);
    v2 = mesh.backend("greeter", "v2", true);
    mesh.awaitWorkloads(2);
    Mesh client = mesh.client("productpage", true);
    channel = mesh.channel(client, "greeter:9000");
    mesh.awaitConverged();
  }

  @AfterEach
  void reset() {
    v1.failWith.set(null);
    v2.failWith.set(null);
    mesh.delete("VirtualService", "greeter");
    mesh.delete("DestinationRule", "greeter");
  }

  @AfterAll
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  void grpcXdsReachesMeshControlOverMutualTlsPastAControlServerThatIsDown() throws Exception {
    // two control servers, the first not there: grpc-xds's one channel to them checks each by its own name
    String down = "127.0.0.1:" + GrpcMesh.freePort();
    Mesh twoServers = mesh.withCertificate(Mesh.builder().controlServers(down, mesh.xds()).namespace("default")
        .serviceAccount("reviews").readyTimeout(GrpcMesh.WAIT), "reviews").build();
    try {
      ManagedChannel failover = MeshGrpc.channel(twoServers, "greeter:9000");
      try {
        assertThat(Greeter.sayHello(failover, "over TLS", java.util.Map.of(), GrpcMesh.WAIT)).endsWith("hello over TLS");
      } finally {
        failover.shutdownNow();
      }
      assertThat(mesh.control.clients()).as("grpc-xds's stream registered nothing, and was let in with its certificate")
          .anyMatch(c -> c.nodeId().contains("~grpc~"));
    } finally {
      twoServers.close();
    }
  }

  @Test
  void aWeightedSplitHoldsWithinFivePoints() {
    mesh.apply(SUBSETS + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: greeter, namespace: default}
        spec:
          hosts: [greeter]
          http:
          - route:
            - {destination: {host: greeter, subset: v1}, weight: 80}
            - {destination: {host: greeter, subset: v2}, weight: 20}
        """);

    Map<String, Integer> counts = split(channel, 2000, Map.of());

    assertThat(counts.keySet()).containsOnly("v1", "v2");
    assertThat(counts.get("v1") / 20.0).isBetween(75.0, 85.0);
    assertThat(v1.lastPeer.get()).as("the caller, as the server's TLS saw it")
        .isEqualTo("spiffe://cluster.local/ns/default/sa/productpage");
  }

  @Test
  void grpcJavaTakesAClusterWithEveryConnectionPoolFieldAndCallsGoOn() {
    // only http2MaxRequests is grpc-java's (gRFC A32); the rest reach it too, and must not be NACKed
    mesh.apply(SUBSETS.replace("  host: greeter\n", """
          host: greeter
          trafficPolicy:
            connectionPool:
              tcp: {maxConnections: 1, connectTimeout: 1s}
              http: {http1MaxPendingRequests: 1, http2MaxRequests: 100, maxRequestsPerConnection: 1, idleTimeout: 5s, maxRetries: 2}
            retryBudget: {percent: 20, minRetryConcurrency: 3}
        """));

    assertThat(split(channel, 20, Map.of()).values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(20);
  }

  @Test
  void aHeaderMatchSendsOnlyMatchingCallsToV2() {
    mesh.apply(SUBSETS + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: greeter, namespace: default}
        spec:
          hosts: [greeter]
          http:
          - match: [{headers: {end-user: {exact: jason}}}]
            route: [{destination: {host: greeter, subset: v2}}]
          - route: [{destination: {host: greeter, subset: v1}}]
        """);

    assertThat(split(channel, 50, Map.of("end-user", "jason"))).containsExactly(Map.entry("v2", 50));
    assertThat(split(channel, 50, Map.of())).containsExactly(Map.entry("v1", 50));
  }

  @Test
  void unavailableIsRetriedOnAnotherEndpoint() {
    mesh.apply("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: greeter, namespace: default}
        spec:
          hosts: [greeter]
          http:
          - route: [{destination: {host: greeter}}]
            retries: {attempts: 3, retryOn: unavailable}
        """);
    v1.failWith.set(Status.UNAVAILABLE.withDescription("v1 is going down"));
    int failedBefore = v1.calls.get();

    assertThat(split(channel, 100, Map.of())).containsExactly(Map.entry("v2", 100));
    assertThat(v1.calls.get() - failedBefore).as("calls that failed on v1 and were retried").isPositive();
  }

  @Test
  void faultsAbortAndDelayCalls() {
    mesh.apply("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: greeter, namespace: default}
        spec:
          hosts: [greeter]
          http:
          - match: [{headers: {fault: {exact: abort}}}]
            fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
            route: [{destination: {host: greeter}}]
          - match: [{headers: {fault: {exact: delay}}}]
            fault: {delay: {fixedDelay: 1s, percentage: {value: 100}}}
            route: [{destination: {host: greeter}}]
          - route: [{destination: {host: greeter}}]
        """);
    int calls = v1.calls.get() + v2.calls.get();

    assertThat(call(channel, Map.of("fault", "abort"))).isEqualTo("UNAVAILABLE");
    assertThat(v1.calls.get() + v2.calls.get()).as("an aborted call reaches no server").isEqualTo(calls);
    long start = System.nanoTime();
    assertThat(call(channel, Map.of("fault", "delay"))).isIn("v1", "v2");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aRingHashOnAHeaderKeepsEachUserOnOneServer() {
    mesh.apply("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: greeter, namespace: default}
        spec:
          host: greeter
          trafficPolicy:
            loadBalancer: {consistentHash: {httpHeaderName: x-user}}
        """);
    // grpc-java ACKs a cluster before its channel has switched balancers: wait for the ring to be in use
    Await.until(() -> split(channel, 10, Map.of("x-user", "probe")).size() == 1, GrpcMesh.WAIT,
        "the ring hash balancer to take over");

    Set<String> versions = new HashSet<>();
    for (int user = 0; user < 20; user++) {
      Map<String, Integer> counts = split(channel, 10, Map.of("x-user", "user-" + user));
      assertThat(counts).as("user-%d stays on one server", user).hasSize(1);
      versions.addAll(counts.keySet());
    }
    assertThat(versions).as("users spread over both servers").containsExactlyInAnyOrder("v1", "v2");
  }

  @Test
  void outlierDetectionEjectsAFailingServer() {
    mesh.apply("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: greeter, namespace: default}
        spec:
          host: greeter
          trafficPolicy:
            outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100}
        """);
    v1.failWith.set(Status.INTERNAL.withDescription("v1 is broken"));

    // within a few intervals v1 fails more than half of its calls and is ejected
    dev.inmesh.testing.Await.until(() -> {
      Map<String, Integer> counts = split(channel, 40, Map.of());
      return counts.getOrDefault("v2", 0) == 40;
    }, Duration.ofSeconds(15), "every call to go to v2");
    int v1Calls = v1.calls.get();
    assertThat(split(channel, 100, Map.of())).containsExactly(Map.entry("v2", 100));
    assertThat(v1.calls.get()).as("the ejected server gets no calls").isEqualTo(v1Calls);
  }
}
