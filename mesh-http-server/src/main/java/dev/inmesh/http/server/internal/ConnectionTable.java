package dev.inmesh.http.server.internal;

import dev.inmesh.http.server.PeerInfo;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The door's live relays, by the local port of the door's connection to the backend: the port the
 * backend sees as the request's remote port. An entry lives from before the first byte reaches the
 * backend until the connection is closed, so a request always finds its peer.
 */
public final class ConnectionTable {
  private record Entry(InetSocketAddress backendSide, PeerInfo peer) {}

  private final Map<Integer, Entry> entries = new ConcurrentHashMap<>();

  void put(InetSocketAddress backendSide, PeerInfo peer) {
    entries.put(backendSide.getPort(), new Entry(backendSide, peer));
  }

  void remove(InetSocketAddress backendSide, PeerInfo peer) {
    // only this connection's entry: a closed port may already serve a new relay
    entries.remove(backendSide.getPort(), new Entry(backendSide, peer));
  }

  /**
   * The peer of the connection the backend sees coming from {@code remoteAddress:remotePort}; empty
   * when it did not come through the door (someone dialled the backend directly).
   */
  public Optional<PeerInfo> peer(InetAddress remoteAddress, int remotePort) {
    Entry entry = entries.get(remotePort);
    if (entry == null || !entry.backendSide().getAddress().equals(remoteAddress)) {
      return Optional.empty();
    }
    return Optional.of(entry.peer());
  }

  public int size() {
    return entries.size();
  }
}
