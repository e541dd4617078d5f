package dev.inmesh.internal.inbound;

import dev.inmesh.Ticker;
import dev.inmesh.inbound.DoorConfig;
import java.net.InetAddress;
import java.net.Socket;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One connection the door accepted, from accept to close: whether its first request head has
 * arrived, the requests the gate has in flight on it, and when it last did something that counts,
 * so that {@link #overdue} can tell a client that says too little from one that is served.
 *
 * <p>What counts: the end of a request head, a request admitted or answered, response bytes
 * written to the client. Bytes from the client do not, so trickling one byte at a time keeps no
 * connection open.
 */
final class DoorConnection {
  /** Why the door closed a connection it had accepted; {@link #tag()} is the metric's label. */
  enum Timeout {
    /** The first request head (and the TLS handshake before it) did not arrive in time. */
    HEADER("header_timeout"),
    /** No request in flight and nothing written to the client for the idle timeout. */
    IDLE("idle_timeout");

    private final String tag;

    Timeout(String tag) {
      this.tag = tag;
    }

    String tag() {
      return tag;
    }
  }

  private final Socket raw;
  private final InetAddress source;
  private final Ticker ticker;
  private final long acceptedAt;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean headed;
  private volatile long lastActivity;
  private volatile Timeout expired;
  /** Line ends in a row, carriage returns aside; read and written by the client-side pump only. */
  private int lineEnds;

  DoorConnection(Socket raw, InetAddress source, Ticker ticker) {
    this.raw = raw;
    this.source = source;
    this.ticker = ticker;
    this.acceptedAt = ticker.nanoTime();
    this.lastActivity = acceptedAt;
  }

  Socket raw() {
    return raw;
  }

  InetAddress source() {
    return source;
  }

  /**
   * Reads the client's bytes until the end of its first head: an empty line, which ends an HTTP/1
   * request head and the first line of HTTP/2's connection preface alike.
   */
  void clientSent(byte[] bytes, int offset, int length) {
    if (headed) {
      return;
    }
    for (int i = offset; i < offset + length; i++) {
      byte b = bytes[i];
      if (b == '\n') {
        if (++lineEnds == 2) {
          headComplete();
          return;
        }
      } else if (b != '\r') {
        lineEnds = 0;
      }
    }
  }

  /** Whether the end of the first request head has arrived. */
  boolean headed() {
    return headed;
  }

  /** Bytes of a response reached the client. */
  void responded() {
    lastActivity = ticker.nanoTime();
  }

  /** The gate admitted (or refused) a request on this connection: its head has arrived. */
  void requestStarted() {
    inFlight.incrementAndGet();
    headed = true;
    lastActivity = ticker.nanoTime();
  }

  /** A request {@linkplain #requestStarted started} here has been answered or abandoned. */
  void requestEnded() {
    inFlight.decrementAndGet();
    lastActivity = ticker.nanoTime();
  }

  private void headComplete() {
    if (!headed) {
      lastActivity = ticker.nanoTime();
      headed = true;
    }
  }

  /** Why this connection must close now, if it must. */
  Optional<Timeout> overdue(DoorConfig config) {
    long now = ticker.nanoTime();
    if (!headed) {
      return now - acceptedAt >= config.headerTimeout().toNanos() ? Optional.of(Timeout.HEADER) : Optional.empty();
    }
    if (inFlight.get() > 0) {
      return Optional.empty();
    }
    return now - lastActivity >= config.idleTimeout().toNanos() ? Optional.of(Timeout.IDLE) : Optional.empty();
  }

  /** Marks the connection closed for {@code timeout}, so that its own thread does not report it again. */
  void expire(Timeout timeout) {
    expired = timeout;
  }

  /** Whether the door closed it for a timeout. */
  boolean expired() {
    return expired != null;
  }
}
