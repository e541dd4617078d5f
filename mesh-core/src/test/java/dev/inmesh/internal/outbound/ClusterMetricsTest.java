package dev.inmesh.internal.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.internal.balancing.BalancerConfig;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.Admission;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.internal.resilience.Outcome;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import dev.inmesh.internal.xds.XdsResources;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ClusterMetricsTest {
  private static final String NAME = "outbound|9080|v1|reviews.default.svc.cluster.local";
  private static final Endpoint FIRST = new Endpoint("10.0.0.1", 9080, Locality.UNKNOWN, 1);
  private static final Endpoint SECOND = new Endpoint("10.0.0.2", 9080, Locality.UNKNOWN, 1);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private long now;
  private final ClusterRuntimes runtimes = new ClusterRuntimes(() -> now, new SplittableRandom(1), registry);

  private static ClusterConfig cluster(int consecutive5xx, int maxRequests) {
    return new ClusterConfig(NAME, NAME, BalancerConfig.ROUND_ROBIN, new ConnectionLimits(1024, 1024, maxRequests, 1024),
        Optional.of(new OutlierDetectionConfig(consecutive5xx, 0, Duration.ofSeconds(10), Duration.ofSeconds(30), 50, 0)),
        Duration.ofSeconds(1), Optional.empty());
  }

  /** The cluster in force after the update, called once so that its meters exist. */
  private ClusterRuntime apply(ClusterConfig... clusters) {
    ClusterRuntime runtime = applyUncalled(clusters);
    runtime.started(FIRST);
    runtime.finished(FIRST);
    return runtime;
  }

  private ClusterRuntime applyUncalled(ClusterConfig... clusters) {
    Map<String, ClusterConfig> byName = new java.util.HashMap<>();
    for (ClusterConfig cluster : clusters) {
      byName.put(cluster.name(), cluster);
    }
    return runtimes.update(new XdsResources(Map.of(), Map.of(), Map.of(), byName, Map.of(NAME, List.of(FIRST, SECOND)),
        Map.of(), Map.of(), true)).get(NAME);
  }

  @Test
  void aClusterNobodyCallsHasNoMeters() {
    ClusterRuntime runtime = applyUncalled(cluster(1, 1024));
    assertThat(registry.getMeters()).isEmpty();

    runtime.started(FIRST);

    assertThat(registry.find("inmesh.circuit.open").tag("cluster", NAME).gauges()).hasSize(4);
  }

  private double counter(String name, String tag, String value) {
    return registry.get(name).tag("cluster", NAME).tag(tag, value).counter().count();
  }

  private double gauge(String name, String... tags) {
    return registry.get(name).tag("cluster", NAME).tags(tags).gauge().value();
  }

  @Test
  void mirrorCopiesAreCountedSentOrDroppedOnAClusterOnlyMirroredTo() {
    ClusterRuntime runtime = applyUncalled(cluster(1, 1024));

    runtime.mirrorSent();
    runtime.mirrorDropped();
    runtime.mirrorDropped();

    assertThat(counter("inmesh.mirror.requests", "result", "sent")).isEqualTo(1);
    assertThat(counter("inmesh.mirror.requests", "result", "dropped")).isEqualTo(2);
  }

  @Test
  void ejectionsAreCountedByCauseAndTheActiveOnesShowAsAGauge() {
    ClusterRuntime runtime = apply(cluster(2, 1024));
    assertThat(gauge("inmesh.outlier.ejections.active")).isZero();

    runtime.outliers().record(FIRST, Outcome.ofStatus(503));
    assertThat(counter("inmesh.outlier.ejections", "cause", "consecutive_5xx")).isZero();
    runtime.outliers().record(FIRST, Outcome.ofStatus(503));

    assertThat(counter("inmesh.outlier.ejections", "cause", "consecutive_5xx")).isEqualTo(1);
    assertThat(counter("inmesh.outlier.ejections", "cause", "consecutive_gateway_errors")).isZero();
    assertThat(gauge("inmesh.outlier.ejections.active")).isEqualTo(1);

    // the second endpoint would take ejections past 50%: an overflow, not an ejection
    runtime.outliers().record(SECOND, Outcome.ofStatus(503));
    runtime.outliers().record(SECOND, Outcome.ofStatus(503));
    assertThat(registry.get("inmesh.outlier.ejections.overflow").tag("cluster", NAME).counter().count()).isEqualTo(1);
    assertThat(gauge("inmesh.outlier.ejections.active")).isEqualTo(1);
  }

  @Test
  void aNewDetectorAfterAConfigChangeIsCountedToo() {
    apply(cluster(2, 1024));
    ClusterRuntime runtime = apply(cluster(1, 1024));

    runtime.outliers().record(SECOND, Outcome.ofStatus(500));

    assertThat(counter("inmesh.outlier.ejections", "cause", "consecutive_5xx")).isEqualTo(1);
  }

  @Test
  void theCircuitShowsOpenWhileTheLimitIsReachedAndRefusalsAreCounted() {
    ClusterRuntime runtime = apply(cluster(0, 1));
    assertThat(gauge("inmesh.circuit.open", "limit", "requests")).isZero();

    Admission first = runtime.limiter().tryAcquire();
    assertThat(gauge("inmesh.circuit.open", "limit", "requests")).isEqualTo(1);
    Admission second = runtime.limiter().tryAcquire();
    runtime.refused((Admission.Refusal) second);

    assertThat(counter("inmesh.circuit.overflows", "limit", "requests")).isEqualTo(1);
    assertThat(counter("inmesh.circuit.overflows", "limit", "pending_requests")).isZero();
    ((Admission.Permit) first).close();
    assertThat(gauge("inmesh.circuit.open", "limit", "requests")).isZero();
  }

  @Test
  void retriesAndRefusedRetriesAreCounted() {
    ClusterRuntime runtime = apply(cluster(0, 1024));

    runtime.retried();
    runtime.retried();
    runtime.retryRefused();

    assertThat(registry.get("inmesh.requests.retries").tag("cluster", NAME).counter().count()).isEqualTo(2);
    assertThat(counter("inmesh.circuit.overflows", "limit", "retries")).isEqualTo(1);
  }

  @Test
  void aClusterThatLeavesTheConfigTakesItsMetersWithIt() {
    apply(cluster(1, 1024));
    assertThat(registry.find("inmesh.circuit.open").tag("cluster", NAME).gauges()).hasSize(4);

    runtimes.update(XdsResources.EMPTY);

    assertThat(registry.find("inmesh.circuit.open").tag("cluster", NAME).gauges()).isEmpty();
    assertThat(registry.find("inmesh.outlier.ejections").tag("cluster", NAME).counters()).isEmpty();
  }

  @Test
  void twoMeshesOnOneRegistryShareTheMetersAndTheSecondLeavingTakesNoneOfThem() {
    ClusterRuntime first = apply(cluster(1, 1024));
    ClusterRuntimes second = new ClusterRuntimes(() -> now, new SplittableRandom(2), registry);
    second.update(new XdsResources(Map.of(), Map.of(), Map.of(), Map.of(NAME, cluster(1, 1024)), Map.of(NAME, List.of(FIRST)),
        Map.of(), Map.of(), true)).get(NAME).started(FIRST);

    second.close();
    first.outliers().record(FIRST, Outcome.ofStatus(503));

    assertThat(counter("inmesh.outlier.ejections", "cause", "consecutive_5xx")).isEqualTo(1);
    assertThat(registry.find("inmesh.circuit.open").tag("cluster", NAME).gauges()).hasSize(4);
  }
}
