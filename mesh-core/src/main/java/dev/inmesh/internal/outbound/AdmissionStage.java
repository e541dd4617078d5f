package dev.inmesh.internal.outbound;

import dev.inmesh.Ticker;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.resilience.Admission;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * Admission to the cluster, once per attempt: a cluster whose every endpoint requires mesh mTLS
 * needs this workload's certificate (503 UF without one); then the attempt waits for a connection
 * as one of the cluster's pending requests, up to the route deadline (503 UO when the cluster's
 * limits refuse it, 504 UT when the deadline passed). The permit is held for the rest of the attempt.
 */
final class AdmissionStage implements Stage {
  /** How long a pending request waits for a connection when the route has no timeout: as long as it takes. */
  private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE);

  private final Ticker ticker;
  private final SnapshotSource workload;

  AdmissionStage(Ticker ticker, SnapshotSource workload) {
    this.ticker = ticker;
    this.workload = workload;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    ClusterRuntime cluster = call.cluster;
    Optional<UpstreamTls> tls = cluster.config().tls();
    if (tls.isPresent() && tls.get().scope() == UpstreamTls.Scope.EVERY_ENDPOINT && tls.get().meshMutualTls()
        && !workload.hasMeshCertificate()) {
      return call.fail(503, "UF", "upstream connect error: " + cluster.name()
          + " requires mesh mutual TLS, and this Mesh has no certificate (build it with certificateAuthority(...))");
    }
    long deadline = call.deadline;
    Admission admission = cluster.limiter().acquire(deadline == Long.MAX_VALUE
        ? FOREVER : Duration.ofNanos(Math.max(0, deadline - ticker.nanoTime())));
    if (admission instanceof Admission.Refusal refusal) {
      if (ticker.nanoTime() >= deadline) {
        return call.fail(504, "UT", "upstream request timeout");
      }
      cluster.refused(refusal);
      return call.fail(503, "UO", "upstream overflow: " + cluster.name() + ": " + refusal.message());
    }
    try (Admission.Permit permit = (Admission.Permit) admission) {
      return call.proceed();
    }
  }
}
