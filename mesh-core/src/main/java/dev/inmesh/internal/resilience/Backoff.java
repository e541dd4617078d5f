package dev.inmesh.internal.resilience;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Envoy's jittered exponential backoff between retries: retry N waits a uniformly random time in
 * [0, (2^N - 1) × base), clamped to the max interval. The ceiling stops growing once it passes the
 * max, as in Envoy, so late retries often wait exactly the max.
 *
 * <p>Not Resilience4j's {@code IntervalFunction.ofExponentialRandomBackoff}: it draws from
 * {@code Math.random()}, which a test cannot seed, and it jitters by a factor around the
 * exponential value instead of Envoy's full jitter from zero.
 *
 * <p>The random generator is shared by every thread that asks for a delay: give it
 * {@code ThreadLocalRandom.current()}, whose one instance is safe from any thread, or a seeded
 * generator in tests.
 */
public final class Backoff {
  private final BackoffConfig config;
  private final RandomGenerator random;
  private final long baseNanos;
  private final long maxNanos;

  private Backoff(BackoffConfig config, RandomGenerator random) {
    this.config = Objects.requireNonNull(config, "config");
    this.random = Objects.requireNonNull(random, "random");
    this.baseNanos = config.baseInterval().toNanos();
    this.maxNanos = config.maxInterval().toNanos();
  }

  public static Backoff of(BackoffConfig config, RandomGenerator random) {
    return new Backoff(config, random);
  }

  public BackoffConfig config() {
    return config;
  }

  /** How long to wait before retry {@code retryNumber}, counting from 1. */
  public Duration delay(int retryNumber) {
    if (retryNumber < 1) {
      throw new IllegalArgumentException("retryNumber counts from 1, got " + retryNumber);
    }
    return Duration.ofNanos(Math.min(random.nextLong(ceilingNanos(retryNumber)), maxNanos));
  }

  /** (2^N - 1) × base, growing only while it has not yet passed the max. */
  long ceilingNanos(int retryNumber) {
    long ceiling = baseNanos;
    for (int n = 1; n < retryNumber && ceiling <= maxNanos; n++) {
      ceiling = ceiling > (Long.MAX_VALUE - baseNanos) / 2 ? Long.MAX_VALUE : ceiling * 2 + baseNanos;
    }
    return ceiling;
  }
}
