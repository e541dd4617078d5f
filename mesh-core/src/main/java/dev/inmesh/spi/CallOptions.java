package dev.inmesh.spi;

import java.time.Duration;
import java.util.Optional;

/**
 * What the caller says about one call: whether it is safe to repeat (overriding the method's
 * default), a timeout of its own, and whether it wants the explanation header back.
 */
public record CallOptions(Optional<Boolean> idempotent, Optional<Duration> timeout, boolean explain) {
  public static final CallOptions DEFAULTS = new CallOptions(Optional.empty(), Optional.empty(), false);
}
