package dev.inmesh.spi;

import dev.inmesh.internal.resilience.Admission;
import java.io.IOException;
import java.util.Objects;

/**
 * A transport refused an attempt by the cluster's connection limits before sending it: the
 * request would have had to wait for a new connection with {@code maxPendingRequests} already
 * waiting. The pipeline answers it as Envoy does, 503 with the {@code UO} flag.
 */
public final class UpstreamOverflowException extends IOException {
  private final transient Admission.Refusal refusal;

  public UpstreamOverflowException(Admission.Refusal refusal) {
    super(Objects.requireNonNull(refusal, "refusal").message());
    this.refusal = refusal;
  }

  public Admission.Refusal refusal() {
    return refusal;
  }
}
