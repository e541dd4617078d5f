package dev.inmesh.internal.resilience;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What fault injection does to one request: wait {@code delay} first, then answer with
 * {@code abort} instead of sending. Either, both or neither.
 */
public record FaultDecision(Optional<Duration> delay, Optional<FaultConfig.AbortStatus> abort) {
  public static final FaultDecision NONE = new FaultDecision(Optional.empty(), Optional.empty());

  public FaultDecision {
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(abort, "abort");
  }
}
