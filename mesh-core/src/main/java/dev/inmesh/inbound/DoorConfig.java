package dev.inmesh.inbound;

import java.time.Duration;
import java.util.Objects;

/**
 * How long the door waits for a client, and how many connections it holds: what keeps a few
 * clients that connect and then say little from taking every slot.
 *
 * @param headerTimeout from accept to the end of the first request head, TLS handshake included;
 *     a connection still short of it then is closed ({@code header_timeout})
 * @param idleTimeout how long a connection that carried a request may go without one in flight and
 *     without response bytes before it is closed ({@code idle_timeout}); the next request's head must
 *     arrive within it
 * @param maxConnections connections at once; more are refused ({@code overloaded})
 * @param maxConnectionsPerSource connections at once from one client address, loopback included;
 *     more are refused ({@code source_limit})
 */
public record DoorConfig(Duration headerTimeout, Duration idleTimeout, int maxConnections, int maxConnectionsPerSource) {
  public DoorConfig {
    Objects.requireNonNull(headerTimeout, "headerTimeout");
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    if (headerTimeout.isNegative() || headerTimeout.isZero() || headerTimeout.toMillis() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("headerTimeout must be positive and under 24 days, got " + headerTimeout);
    }
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("idleTimeout must be positive, got " + idleTimeout);
    }
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be 1 or more, got " + maxConnections);
    }
    if (maxConnectionsPerSource < 1) {
      throw new IllegalArgumentException("maxConnectionsPerSource must be 1 or more, got " + maxConnectionsPerSource);
    }
  }

  /**
   * A 10 s header timeout (what the door gave the mTLS handshake alone before; a client on a working
   * network sends its head within milliseconds), 60 s idle (Tomcat's keep-alive default; the JDK's
   * server and Jetty close idle connections after 30 s themselves, so behind them this rarely
   * fires), 1,024 connections, 256 of them from one address (a quarter: one host cannot take the
   * door, and a client's pool of a few hundred connections still fits).
   */
  public static DoorConfig defaults() {
    return new DoorConfig(Duration.ofSeconds(10), Duration.ofSeconds(60), 1024, 256);
  }

  public DoorConfig withHeaderTimeout(Duration timeout) {
    return new DoorConfig(timeout, idleTimeout, maxConnections, maxConnectionsPerSource);
  }

  public DoorConfig withIdleTimeout(Duration timeout) {
    return new DoorConfig(headerTimeout, timeout, maxConnections, maxConnectionsPerSource);
  }

  public DoorConfig withMaxConnections(int max) {
    return new DoorConfig(headerTimeout, idleTimeout, max, maxConnectionsPerSource);
  }

  public DoorConfig withMaxConnectionsPerSource(int max) {
    return new DoorConfig(headerTimeout, idleTimeout, maxConnections, max);
  }
}
