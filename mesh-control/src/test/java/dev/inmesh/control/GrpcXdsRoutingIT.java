package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An unmodified grpc-java xDS client obeys Istio config served by mesh-control. */
class GrpcXdsRoutingIT {
  @TempDir
  Path configDir;
  MeshFixture mesh;

  @BeforeEach
  void startMesh() throws Exception {
    mesh = new MeshFixture(configDir, Duration.ofSeconds(1));
    mesh.backend("v1");
    mesh.backend("v2");
    mesh.awaitWorkloads(2);
    mesh.write("greeter-dr.yaml", MeshFixture.DESTINATION_RULE);
  }

  @AfterEach
  void stopMesh() throws Exception {
    mesh.close();
  }

  @Test
  void weightedSplitHoldsWithinFivePoints() {
    mesh.write("greeter-vs.yaml", split(80, 20));
    ManagedChannel client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v2", Map.of());

    Map<String, Integer> counts = MeshFixture.split(client, 2000, Map.of());

    assertThat(counts.keySet()).containsOnly("v1", "v2");
    assertThat(counts.get("v1") / 20.0).isBetween(75.0, 85.0);
  }

  @Test
  void headerMatchSendsOnlyMatchingCallsToV2() {
    mesh.write("greeter-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - match:
            - headers:
                end-user:
                  exact: jason
            route:
            - destination:
                host: greeter
                subset: v2
          - route:
            - destination:
                host: greeter
                subset: v1
        """);
    ManagedChannel client = mesh.client();
    MeshFixture.awaitAnswerFrom(client, "v2", Map.of("end-user", "jason"));

    assertThat(MeshFixture.split(client, 200, Map.of("end-user", "jason"))).containsOnly(Map.entry("v2", 200));
    assertThat(MeshFixture.split(client, 200, Map.of("end-user", "bob"))).containsOnly(Map.entry("v1", 200));
    assertThat(MeshFixture.split(client, 200, Map.of())).containsOnly(Map.entry("v1", 200));
  }

  @Test
  void faultAbortAtHundredPercentReturnsTheConfiguredStatus() {
    mesh.write("greeter-vs.yaml", abort(100));
    ManagedChannel client = mesh.client();
    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("UNAVAILABLE"), Duration.ofSeconds(20), "the abort");

    assertThat(MeshFixture.split(client, 200, Map.of())).containsOnly(Map.entry("UNAVAILABLE", 200));
  }

  @Test
  void aRedirectOrDirectResponseFailsTheGrpcCallWithItsStatusInsteadOfANack() {
    mesh.write("greeter-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - match:
            - headers:
                end-user:
                  exact: jason
            directResponse:
              status: 503
          - match:
            - headers:
                end-user:
                  exact: moved
            redirect:
              uri: /elsewhere
          - route:
            - destination:
                host: greeter
                subset: v1
        """);
    ManagedChannel client = mesh.client();
    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of("end-user", "jason")).containsKey("UNAVAILABLE"),
        Duration.ofSeconds(20), "the direct response");

    assertThat(MeshFixture.split(client, 20, Map.of("end-user", "jason"))).containsOnly(Map.entry("UNAVAILABLE", 20));
    // grpc-java maps an HTTP 301 to UNKNOWN, as it does for a sidecar's redirect
    assertThat(MeshFixture.split(client, 20, Map.of("end-user", "moved"))).containsOnly(Map.entry("UNKNOWN", 20));
    assertThat(MeshFixture.split(client, 20, Map.of())).containsOnly(Map.entry("v1", 20));
    assertThat(mesh.control.clients()).allSatisfy(c -> assertThat(c.types().values())
        .allSatisfy(type -> assertThat(type.lastNack()).as("%s", c.nodeId()).isEmpty()));
  }

  @Test
  void faultAbortAtFiftyPercentAbortsHalf() {
    mesh.write("greeter-vs.yaml", abort(50));
    ManagedChannel client = mesh.client();
    MeshFixture.await(() -> MeshFixture.split(client, 20, Map.of()).containsKey("UNAVAILABLE"), Duration.ofSeconds(20), "the abort");

    Map<String, Integer> counts = MeshFixture.split(client, 2000, Map.of());

    assertThat(counts.keySet()).containsOnly("v1", "UNAVAILABLE");
    assertThat(counts.get("UNAVAILABLE") / 20.0).isBetween(45.0, 55.0);
  }

  @Test
  void faultDelayDelaysEveryCall() {
    mesh.write("greeter-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - fault:
              delay:
                fixedDelay: 700ms
                percentage:
                  value: 100
            route:
            - destination:
                host: greeter
                subset: v1
        """);
    ManagedChannel client = mesh.client();
    MeshFixture.await(() -> timedCall(client) >= 700, Duration.ofSeconds(20), "the delay");

    for (int i = 0; i < 5; i++) {
      assertThat(timedCall(client)).isGreaterThanOrEqualTo(700);
    }
  }

  @Test
  void routeTimeoutFiresAgainstASlowBackend() throws Exception {
    mesh.backend("slow", Duration.ofSeconds(2));
    mesh.awaitWorkloads(3);
    mesh.write("greeter-dr.yaml", MeshFixture.DESTINATION_RULE + """
          - name: slow
            labels:
              version: slow
        """);
    mesh.write("greeter-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - timeout: 1s
            retries:
              attempts: 0
            route:
            - destination:
                host: greeter
                subset: slow
        """);
    ManagedChannel client = mesh.client();
    MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("DEADLINE_EXCEEDED"), Duration.ofSeconds(30), "the timeout");

    long started = System.nanoTime();
    assertThatThrownBy(() -> Greeter.sayHello(client, "mesh", Map.of(), Duration.ofSeconds(10)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
    assertThat(elapsedMillis).isBetween(900L, 1900L);
  }

  private static long timedCall(ManagedChannel client) {
    long started = System.nanoTime();
    Greeter.sayHello(client, "mesh", Map.of(), Duration.ofSeconds(10));
    return (System.nanoTime() - started) / 1_000_000;
  }

  static String split(int v1, int v2) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - route:
            - destination:
                host: greeter
                subset: v1
              weight: %d
            - destination:
                host: greeter
                subset: v2
              weight: %d
        """.formatted(v1, v2);
  }

  private static String abort(int percent) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
        spec:
          hosts:
          - greeter
          http:
          - fault:
              abort:
                httpStatus: 503
                percentage:
                  value: %d
            route:
            - destination:
                host: greeter
                subset: v1
        """.formatted(percent);
  }
}
