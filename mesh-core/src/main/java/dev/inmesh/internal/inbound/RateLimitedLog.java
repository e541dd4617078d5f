package dev.inmesh.internal.inbound;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;

/**
 * Logs a message of each kind at INFO at most once per interval and every other occurrence at
 * DEBUG, so that a port scanned by plaintext clients under STRICT does not flood the log.
 */
final class RateLimitedLog {
  private final Logger log;
  private final Clock clock;
  private final Duration interval;
  private final Map<Object, Instant> last = new ConcurrentHashMap<>();

  RateLimitedLog(Logger log, Clock clock, Duration interval) {
    this.log = log;
    this.clock = clock;
    this.interval = interval;
  }

  void log(Object kind, String message) {
    Instant now = clock.instant();
    boolean[] due = {false};
    last.compute(kind, (k, previous) -> {
      if (previous == null || !now.isBefore(previous.plus(interval))) {
        due[0] = true;
        return now;
      }
      return previous;
    });
    if (due[0]) {
      log.info("{} (further ones like this at DEBUG for {} s)", message, interval.toSeconds());
    } else {
      log.debug("{}", message);
    }
  }
}
