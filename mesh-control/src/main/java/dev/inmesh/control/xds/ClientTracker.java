package dev.inmesh.control.xds;

import dev.inmesh.control.registry.WorkloadRegistry;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.xds.WorkloadMetadata;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every ADS stream: who is connected, what each was sent, what it ACKed and NACKed. It
 * also prepares each request for the cache ({@link #normalized}): later requests on a stream carry
 * no node, and a NACK carries the version the client still holds, which would make the cache
 * resend the rejected snapshot at once; we hand the cache the rejected version instead, so the
 * client hears again only when the config changes.
 */
final class ClientTracker implements DiscoveryServerCallbacks {
  private static final Logger log = LoggerFactory.getLogger(ClientTracker.class);

  private final Clock clock;
  private final WorkloadRegistry registry;
  private final Consumer<String> onNewNamespace;
  private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
  private final Map<DiscoveryRequest, DiscoveryRequest> pending = Collections.synchronizedMap(new IdentityHashMap<>());

  private volatile XdsMetrics metrics;
  /** When the latest config change was translated; ACKs after it converge. */
  private volatile java.time.Instant lastChange = java.time.Instant.MIN;

  ClientTracker(Clock clock, WorkloadRegistry registry, Consumer<String> onNewNamespace) {
    this.clock = clock;
    this.registry = registry;
    this.onNewNamespace = onNewNamespace;
  }

  void metrics(XdsMetrics metrics) {
    this.metrics = metrics;
  }

  void changed(java.time.Instant at) {
    this.lastChange = at;
  }

  private final class Stream {
    final long id;
    volatile Node node;
    volatile Optional<String> registrationError = Optional.empty();
    final java.time.Instant connectedAt = clock.instant();
    final Map<String, String> sentByNonce = new HashMap<>();
    final Map<String, ClientStatus.TypeStatus> types = new HashMap<>();
    java.time.Instant convergedFor = java.time.Instant.MIN;

    Stream(long id) {
      this.id = id;
    }
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new Stream(streamId));
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
    Stream stream = streams.computeIfAbsent(streamId, Stream::new);
    DiscoveryRequest.Builder fixed = null;
    synchronized (stream) {
      if (stream.node == null && request.hasNode()) {
        stream.node = request.getNode();
        stream.registrationError = registry.streamOpened(streamId, request.getNode());
        onNewNamespace.accept(ClientProfile.of(request.getNode()).key());
        log.info("client {} connected (stream {})", request.getNode().getId(), streamId);
      }
      if (!request.hasNode() && stream.node != null) {
        fixed = request.toBuilder().setNode(stream.node);
      }
      String type = TypeNames.shortName(request.getTypeUrl());
      ClientStatus.TypeStatus previous = stream.types.getOrDefault(type, ClientStatus.TypeStatus.NONE);
      if (request.hasErrorDetail()) {
        String rejected = stream.sentByNonce.getOrDefault(request.getResponseNonce(), "");
        String message = request.getErrorDetail().getMessage();
        stream.types.put(type, new ClientStatus.TypeStatus(previous.sentVersion(), previous.ackedVersion(),
            Optional.of(new ClientStatus.Nack(rejected, message, clock.instant())), previous.responses()));
        log.warn("client {} NACKed {} version {}: {}", nodeId(stream), type, rejected, message);
        if (metrics != null) {
          metrics.rejected(type);
        }
        if (!rejected.isEmpty()) {
          fixed = (fixed == null ? request.toBuilder() : fixed).setVersionInfo(rejected);
        }
      } else if (!request.getResponseNonce().isEmpty()) {
        stream.types.put(type, new ClientStatus.TypeStatus(previous.sentVersion(), request.getVersionInfo(),
            previous.lastNack(), previous.responses()));
        java.time.Instant change = lastChange;
        // the first ACK after a change this client was connected for
        if (metrics != null && stream.connectedAt.isBefore(change) && stream.convergedFor.isBefore(change)) {
          stream.convergedFor = change;
          metrics.converged(java.time.Duration.between(change, clock.instant()));
        }
      }
    }
    if (fixed != null) {
      pending.put(request, fixed.build());
    }
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    Stream stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    synchronized (stream) {
      stream.sentByNonce.put(response.getNonce(), response.getVersionInfo());
      String type = TypeNames.shortName(response.getTypeUrl());
      ClientStatus.TypeStatus previous = stream.types.getOrDefault(type, ClientStatus.TypeStatus.NONE);
      stream.types.put(type, new ClientStatus.TypeStatus(response.getVersionInfo(), previous.ackedVersion(),
          previous.lastNack(), previous.responses() + 1));
    }
    if (metrics != null) {
      metrics.pushed(TypeNames.shortName(response.getTypeUrl()));
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    // Delta xDS is not served: clients of mesh-control speak state-of-the-world ADS.
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId);
  }

  private void closed(long streamId) {
    Stream stream = streams.remove(streamId);
    if (stream != null) {
      log.info("client {} disconnected (stream {})", nodeId(stream), streamId);
    }
    registry.streamClosed(streamId);
  }

  /** The request as the cache should see it; the same object when nothing needed fixing. */
  DiscoveryRequest normalized(DiscoveryRequest request) {
    DiscoveryRequest fixed = pending.remove(request);
    return fixed == null ? request : fixed;
  }

  List<ClientStatus> clients() {
    List<ClientStatus> result = new ArrayList<>();
    for (Stream stream : streams.values()) {
      synchronized (stream) {
        if (stream.node == null) {
          continue;
        }
        result.add(new ClientStatus(stream.id, stream.node.getId(), WorkloadMetadata.namespaceOf(stream.node),
            ClientProfile.of(stream.node).key(),
            stream.node.getUserAgentName() + " " + stream.node.getUserAgentVersion(), stream.connectedAt,
            stream.types, stream.registrationError));
      }
    }
    result.sort(Comparator.comparing(ClientStatus::nodeId).thenComparing(ClientStatus::streamId));
    return result;
  }

  private static String nodeId(Stream stream) {
    return stream.node == null ? "stream-" + stream.id : stream.node.getId();
  }
}
