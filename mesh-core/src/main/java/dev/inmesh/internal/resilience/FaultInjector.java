package dev.inmesh.internal.resilience;

import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Decides a route's faults for one request. The delay and the abort are drawn independently, each
 * against its own percentage at a precision of one in a million, as Envoy's fault filter does; so
 * 50% delay and 50% abort delay-and-abort about a quarter of requests.
 */
public final class FaultInjector {
  private static final int MILLION = 1_000_000;

  private FaultInjector() {}

  public static FaultDecision decide(FaultConfig config, RandomGenerator random) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(random, "random");
    boolean delayed = config.delay().isPresent() && draw(config.delay().get().perMillion(), random);
    boolean aborted = config.abort().isPresent() && draw(config.abort().get().perMillion(), random);
    if (!delayed && !aborted) {
      return FaultDecision.NONE;
    }
    return new FaultDecision(
        delayed ? Optional.of(config.delay().get().duration()) : Optional.empty(),
        aborted ? Optional.of(config.abort().get().status()) : Optional.empty());
  }

  private static boolean draw(int perMillion, RandomGenerator random) {
    return random.nextInt(MILLION) < perMillion;
  }
}
