package dev.inmesh.internal.inbound;

import dev.inmesh.inbound.PeerInfo;
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
  /** One relay: where the backend sees it come from, its peer, and its connection on the public side. */
  record Relay(InetSocketAddress backendSide, PeerInfo peer, DoorConnection connection) {}

  private final Map<Integer, Relay> entries = new ConcurrentHashMap<>();

  void put(Relay relay) {
    entries.put(relay.backendSide().getPort(), relay);
  }

  void remove(Relay relay) {
    // only this connection's entry: a closed port may already serve a new relay
    entries.remove(relay.backendSide().getPort(), relay);
  }

  /**
   * The peer of the connection the backend sees coming from {@code remoteAddress:remotePort}; empty
   * when it did not come through the door (someone dialled the backend directly).
   */
  public Optional<PeerInfo> peer(InetAddress remoteAddress, int remotePort) {
    return relay(remoteAddress, remotePort).map(Relay::peer);
  }

  Optional<Relay> relay(InetAddress remoteAddress, int remotePort) {
    Relay relay = entries.get(remotePort);
    if (relay == null || !relay.backendSide().getAddress().equals(remoteAddress)) {
      return Optional.empty();
    }
    return Optional.of(relay);
  }

  public int size() {
    return entries.size();
  }
}
