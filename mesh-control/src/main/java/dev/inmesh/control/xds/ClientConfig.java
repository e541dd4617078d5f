package dev.inmesh.control.xds;

import com.google.protobuf.Message;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one ADS client holds: per type (LDS, RDS, CDS, EDS) the version it ACKed, the version
 * mesh-control serves its profile now, and the resources of the ACKed version — empty when
 * mesh-control no longer remembers that version (it keeps the last few per profile).
 */
public record ClientConfig(ClientStatus client, Map<String, Held> types) {
  public ClientConfig {
    types = Map.copyOf(types);
  }

  public record Held(String ackedVersion, String currentVersion, Optional<List<Message>> resources) {
    public Held {
      resources = resources.map(List::copyOf);
    }

    public boolean current() {
      return ackedVersion.equals(currentVersion);
    }
  }

  /** The resources of one type the client holds, or an error that says why they are not known. */
  public List<Message> resources(String type) {
    Held held = types.get(type);
    if (held == null || held.ackedVersion().isEmpty()) {
      throw new IllegalStateException("client " + client.nodeId() + " has not ACKed any " + type + " version yet");
    }
    return held.resources().orElseThrow(() -> new IllegalStateException("client " + client.nodeId() + " holds "
        + type + " version " + held.ackedVersion() + ", which mesh-control no longer remembers (it now serves "
        + held.currentVersion() + ")"));
  }

  /**
   * The config decoded as the client decoded it (mesh-core's own parsers), for explanations.
   *
   * @throws IllegalStateException when a type's ACKed version is no longer remembered
   */
  public dev.inmesh.internal.xds.XdsDecoder.Decoded decode() {
    return dev.inmesh.internal.xds.XdsDecoder.decode(
        cast(resources("LDS"), io.envoyproxy.envoy.config.listener.v3.Listener.class),
        cast(lenient("RDS"), io.envoyproxy.envoy.config.route.v3.RouteConfiguration.class),
        cast(resources("CDS"), io.envoyproxy.envoy.config.cluster.v3.Cluster.class),
        cast(lenient("EDS"), io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class));
  }

  /**
   * The server listener {@code name} ({@code grpc/server?…}) as this client, a server, holds it:
   * its mutual TLS mode and authorization, read by the servers' own parser. Empty when the client
   * holds no listener of that name.
   *
   * @throws IllegalStateException when its LDS version is no longer remembered, or the listener is
   *     one a server would refuse (then it never took it)
   */
  public Optional<dev.inmesh.inbound.InboundPolicy> serverListener(String name) {
    for (Message message : resources("LDS")) {
      var listener = (io.envoyproxy.envoy.config.listener.v3.Listener) message;
      if (listener.getName().equals(name)) {
        try {
          return Optional.of(dev.inmesh.internal.xds.XdsDecoder.inbound(listener));
        } catch (dev.inmesh.internal.xds.XdsParseException e) {
          throw new IllegalStateException("client " + client.nodeId() + " holds a listener " + name
              + " its server would refuse: " + e.getMessage(), e);
        }
      }
    }
    return Optional.empty();
  }

  /** Routes and endpoints follow listeners and clusters: a client that needs none has ACKed none. */
  private List<Message> lenient(String type) {
    Held held = types.get(type);
    return held == null || held.ackedVersion().isEmpty() ? List.of() : resources(type);
  }

  private static <T extends Message> List<T> cast(List<Message> messages, Class<T> type) {
    return messages.stream().map(type::cast).toList();
  }
}
