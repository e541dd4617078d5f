package dev.inmesh.internal.inbound;

import dev.inmesh.Ticker;
import dev.inmesh.inbound.DoorConfig;
import java.net.InetAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The connections a door holds, in total and per client address, against its {@link DoorConfig}:
 * {@link #open} admits or refuses a new one, {@link #overdue} names those to close. The map of
 * addresses holds only addresses with a live connection, so it is bounded by the connection limit.
 */
final class DoorConnections {
  /** What {@link #open} decided. */
  sealed interface Opened {}

  record Accepted(DoorConnection connection) implements Opened {}

  record Refused(RefusalReason reason, String message) implements Opened {}

  /** A connection to close, and why. */
  record Overdue(DoorConnection connection, DoorConnection.Timeout timeout) {}

  private final DoorConfig config;
  private final Ticker ticker;
  private final Set<DoorConnection> live = new LinkedHashSet<>();
  private final Map<InetAddress, Integer> perSource = new HashMap<>();

  DoorConnections(DoorConfig config, Ticker ticker) {
    this.config = config;
    this.ticker = ticker;
  }

  /** Admits {@code raw}, from {@code source}, unless the door or that address is at its limit. */
  synchronized Opened open(Socket raw, InetAddress source) {
    if (live.size() >= config.maxConnections()) {
      return new Refused(RefusalReason.OVERLOADED, "holds " + config.maxConnections() + " connections already: refused one from "
          + source.getHostAddress());
    }
    int fromSource = perSource.getOrDefault(source, 0);
    if (fromSource >= config.maxConnectionsPerSource()) {
      return new Refused(RefusalReason.SOURCE_LIMIT, "holds " + fromSource + " connections from " + source.getHostAddress()
          + " already, its limit per client address: refused another");
    }
    DoorConnection connection = new DoorConnection(raw, source, ticker);
    live.add(connection);
    perSource.put(source, fromSource + 1);
    return new Accepted(connection);
  }

  /** Forgets a connection; closing the socket is the caller's. Calling it again does nothing. */
  synchronized void closed(DoorConnection connection) {
    if (live.remove(connection)) {
      perSource.computeIfPresent(connection.source(), (address, count) -> count == 1 ? null : count - 1);
    }
  }

  /** The connections to close now for a timeout; they stay counted until {@link #closed}. */
  synchronized List<Overdue> overdue() {
    List<Overdue> due = new ArrayList<>();
    for (DoorConnection connection : live) {
      Optional<DoorConnection.Timeout> timeout = connection.overdue(config);
      timeout.ifPresent(t -> due.add(new Overdue(connection, t)));
    }
    return due;
  }

  synchronized int size() {
    return live.size();
  }

  synchronized int fromSource(InetAddress source) {
    return perSource.getOrDefault(source, 0);
  }

  /** How many client addresses hold connections now. */
  synchronized int addresses() {
    return perSource.size();
  }
}
