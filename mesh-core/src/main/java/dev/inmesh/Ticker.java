package dev.inmesh;

/**
 * A source of monotonic time in nanoseconds. Policy code takes one so that tests can move time by
 * hand; only {@link #system()} reads the real clock.
 */
@FunctionalInterface
public interface Ticker {
  long nanoTime();

  static Ticker system() {
    return System::nanoTime;
  }
}
