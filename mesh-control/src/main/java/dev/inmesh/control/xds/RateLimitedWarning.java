package dev.inmesh.control.xds;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;

/**
 * One kind of warning, logged at WARN at most once per interval. The ones in between go to DEBUG
 * and are counted, and the next one at WARN says how many there were: a peer refused a thousand
 * times a second costs the log a line a minute, and the operator still learns how often.
 */
final class RateLimitedWarning {
  private final Clock clock;
  private final Duration interval;
  private Instant lastLogged;
  private long heldBack;

  RateLimitedWarning(Clock clock, Duration interval) {
    this.clock = clock;
    this.interval = interval;
  }

  void log(Logger log, String message) {
    long before;
    synchronized (this) {
      Instant now = clock.instant();
      if (lastLogged != null && now.isBefore(lastLogged.plus(interval))) {
        heldBack++;
        before = -1;
      } else {
        before = heldBack;
        heldBack = 0;
        lastLogged = now;
      }
    }
    if (before < 0) {
      log.debug("{}", message);
    } else if (before == 0) {
      log.warn("{}", message);
    } else {
      log.warn("{} ({} more like it since the last one, logged at DEBUG only)", message, before);
    }
  }
}
