package dev.inmesh.control.xds;

import dev.inmesh.control.registry.WorkloadRegistry;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
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
 *
 * <p>All it keeps of a stream goes with the stream, and what one stream holds is bounded: one
 * prepared request, the last response and the status per resource type.
 */
final class ClientTracker implements DiscoveryServerCallbacks {
  private static final Logger log = LoggerFactory.getLogger(ClientTracker.class);

  private final Clock clock;
  private final WorkloadRegistry registry;
  private final Profiles profiles;
  private final Consumer<String> onNewProfile;
  private final XdsLimits limits;
  private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
  /**
   * A request as received → as the cache should see it. java-control-plane asks the cache for a
   * watch right after the request callback, or drops the request (a stale nonce) without asking:
   * so a stream holds at most one entry, the one of its latest request, and takes it along when
   * it ends.
   */
  private final Map<DiscoveryRequest, DiscoveryRequest> pending = Collections.synchronizedMap(new IdentityHashMap<>());
  private final Map<io.grpc.Status.Code, RateLimitedWarning> refusals = new ConcurrentHashMap<>();

  private volatile XdsMetrics metrics;
  private volatile java.util.function.Supplier<Optional<String>> unavailable = Optional::empty;
  /** When the latest config change was translated; ACKs after it converge. */
  private volatile java.time.Instant lastChange = java.time.Instant.MIN;

  /**
   * @param onNewProfile called when a stream is admitted into a profile that had no snapshot; the
   *     caller must then publish one for it
   */
  ClientTracker(Clock clock, WorkloadRegistry registry, Profiles profiles, XdsLimits limits, Consumer<String> onNewProfile) {
    this.clock = clock;
    this.registry = registry;
    this.profiles = profiles;
    this.limits = limits;
    this.onNewProfile = onNewProfile;
  }

  void metrics(XdsMetrics metrics) {
    this.metrics = metrics;
  }

  void refuseWhile(java.util.function.Supplier<Optional<String>> reason) {
    this.unavailable = reason;
  }

  void changed(java.time.Instant at) {
    this.lastChange = at;
  }

  private final class Stream {
    final long id;
    volatile Node node;
    /** The profile it was counted into; null until admitted. */
    volatile String profile;
    volatile Optional<String> registrationError = Optional.empty();
    volatile Optional<String> identity = Optional.empty();
    volatile Optional<String> address = Optional.empty();
    final java.time.Instant connectedAt = clock.instant();
    /** Per type, the last response: only its nonce can still be ACKed or NACKed. */
    final Map<String, Sent> lastSent = new HashMap<>();
    final Map<String, ClientStatus.TypeStatus> types = new HashMap<>();
    java.time.Instant convergedFor = java.time.Instant.MIN;
    /** The request of this stream that {@link #pending} holds, if any. */
    volatile DiscoveryRequest pendingKey;
    final RateLimitedWarning nacks = new RateLimitedWarning(clock, limits.warningInterval());

    Stream(long id) {
      this.id = id;
    }
  }

  private record Sent(String nonce, String version) {}

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new Stream(streamId));
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    Stream stream = streams.get(streamId);
    if (stream == null) {
      // opened streams are known from onStreamOpen on: this one was refused or has ended, and
      // what a client had sent on it before it heard so is not served, nor counted again
      throw new RequestException(io.grpc.Status.CANCELLED.withDescription("xDS stream " + streamId + " has ended"));
    }
    // the stream's previous request has been watched or dropped by now: requests are handled in order
    forgetPending(stream);
    String type = TypeNames.shortName(request.getTypeUrl());
    if (!TypeNames.served(request.getTypeUrl())) {
      throw refuse(streamId, io.grpc.Status.INVALID_ARGUMENT, "type URL " + abbreviate(request.getTypeUrl())
          + " is none that mesh-control serves (" + String.join(", ", TypeNames.SERVED) + ")");
    }
    if (stream.node == null) {
      admitFirst(stream, request);
    }
    DiscoveryRequest.Builder fixed = null;
    // every request is served as the node the stream was admitted as: a later request that names
    // another node (another namespace, say) would otherwise pick that node's snapshot
    if (!request.hasNode() || !request.getNode().equals(stream.node)) {
      fixed = request.toBuilder().setNode(stream.node);
    }
    synchronized (stream) {
      ClientStatus.TypeStatus previous = stream.types.getOrDefault(type, ClientStatus.TypeStatus.NONE);
      if (request.hasErrorDetail()) {
        Sent sent = stream.lastSent.get(type);
        String rejected = sent != null && sent.nonce().equals(request.getResponseNonce()) ? sent.version() : "";
        String message = request.getErrorDetail().getMessage();
        stream.types.put(type, new ClientStatus.TypeStatus(previous.sentVersion(), previous.ackedVersion(),
            Optional.of(new ClientStatus.Nack(rejected, message, clock.instant())), previous.responses()));
        stream.nacks.log(log, "client " + nodeId(stream) + " NACKed " + type + " version " + rejected + ": "
            + abbreviate(message));
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
      stream.pendingKey = request;
    }
  }

  /**
   * The first request of a stream: who it is ({@link #admit}), then the profile it is served,
   * counted until the stream ends, then its registration. Profiles are counted outside the
   * stream's lock: a profile is evicted under the profiles' lock and then the cache's, and the
   * cache answers watches under its own lock into {@link #onV3StreamResponse}, which takes the
   * stream's.
   */
  private void admitFirst(Stream stream, DiscoveryRequest request) throws RequestException {
    long streamId = stream.id;
    if (!request.hasNode()) {
      throw refuse(streamId, io.grpc.Status.INVALID_ARGUMENT, "the first request of an xDS stream must carry its node");
    }
    Optional<String> down = unavailable.get();
    if (down.isPresent()) {
      throw refuse(streamId, io.grpc.Status.UNAVAILABLE, "mesh-control is not ready: " + down.get());
    }
    Node node = request.getNode();
    XdsPeer peer = XdsPeer.current();
    admit(streamId, node, peer);
    String profile = ClientProfile.of(node).key();
    Profiles.Admission admission = profiles.admit(profile, peer.port() == XdsPeer.Port.MUTUAL_TLS);
    if (admission == Profiles.Admission.FULL) {
      throw refuse(streamId, io.grpc.Status.RESOURCE_EXHAUSTED, "node " + node.getId() + " would need a new client"
          + " profile (" + profile + "), and mesh-control keeps " + profiles.max() + " at most (one per namespace,"
          + " client kind, and certificates or not), all in use. A profile is dropped "
          + limits.profileIdleTime().toSeconds() + " s after its last client left; a client whose namespace mutual TLS"
          + " proves is served beyond the limit");
    }
    stream.profile = profile;
    if (admission == Profiles.Admission.NEW) {
      onNewProfile.accept(profile);
    }
    stream.registrationError = peer.port() == XdsPeer.Port.READ_ONLY ? Optional.empty()
        : register(streamId, node);
    stream.identity = peer.identity().map(Object::toString);
    stream.address = peer.address().map(java.net.InetAddress::getHostAddress);
    stream.node = node;
    log.info("client {} connected (stream {})", node.getId(), streamId);
  }

  /**
   * Lets a stream in only as far as its connection proves who it is. On the mutual TLS port a
   * stream needs a mesh certificate, its node's namespace and service account must be the
   * certificate's, and a workload registers the address its connection comes from. The read-only
   * port registers no one. Refusals close the stream with a status that names the claim.
   */
  private void admit(long streamId, Node node, XdsPeer peer) throws RequestException {
    boolean registers = node.getMetadata().containsFields(WorkloadMetadata.SERVICE);
    String claimedNamespace = WorkloadMetadata.namespaceOf(node);
    if (!claimedNamespace.matches(NAMESPACE_NAME)) {
      throw refuse(streamId, io.grpc.Status.INVALID_ARGUMENT, "node " + node.getId() + " says " + WorkloadMetadata.NAMESPACE
          + "=" + abbreviate(claimedNamespace) + ", which is no namespace name (lower-case letters, digits and '-', at most 63)");
    }
    switch (peer.port()) {
      case INSECURE -> { }
      case READ_ONLY -> {
        if (registers) {
          throw refuse(streamId, io.grpc.Status.PERMISSION_DENIED, "node " + node.getId() + " asks to register as "
              + WorkloadMetadata.SERVICE + "=" + node.getMetadata().getFieldsOrThrow(WorkloadMetadata.SERVICE).getStringValue()
              + " on the read-only xDS port, which registers no one; register over mutual TLS on the xDS port");
        }
      }
      case MUTUAL_TLS -> {
        if (peer.identity().isEmpty()) {
          throw refuse(streamId, io.grpc.Status.UNAUTHENTICATED, "mesh-control's xDS port needs a mesh certificate"
              + " (a SPIFFE certificate from the mesh CA); clients without one may read config on the read-only port,"
              + " where the operator opened one (--xds-read-only-port)");
        }
        dev.inmesh.identity.SpiffeId identity = peer.identity().get();
        String namespace = WorkloadMetadata.namespaceOf(node);
        if (!namespace.equals(identity.namespace())) {
          throw refuse(streamId, io.grpc.Status.PERMISSION_DENIED, "node " + node.getId() + " says "
              + WorkloadMetadata.NAMESPACE + "=" + namespace + ", but its certificate is " + identity
              + "; a workload belongs to the namespace of its identity");
        }
        if (registers) {
          String account = node.getMetadata().getFieldsMap().containsKey(WorkloadMetadata.SERVICE_ACCOUNT)
              ? node.getMetadata().getFieldsOrThrow(WorkloadMetadata.SERVICE_ACCOUNT).getStringValue() : "";
          if (!account.equals(identity.serviceAccount())) {
            throw refuse(streamId, io.grpc.Status.PERMISSION_DENIED, "node " + node.getId() + " says "
                + WorkloadMetadata.SERVICE_ACCOUNT + "=" + account + ", but its certificate is " + identity);
          }
          String service = node.getMetadata().getFieldsOrThrow(WorkloadMetadata.SERVICE).getStringValue();
          Optional<String> narrowed = registry.refusal(identity.namespace(), service, identity.serviceAccount());
          if (narrowed.isPresent()) {
            throw refuse(streamId, io.grpc.Status.PERMISSION_DENIED, "node " + node.getId() + " may not register as "
                + WorkloadMetadata.SERVICE + "=" + service + ": " + narrowed.get());
          }
          java.util.List<String> claimed = instanceIps(node);
          String from = peer.address().map(java.net.InetAddress::getHostAddress).orElse("");
          // the first address is the one registered; it must be an IP literal, so that no name is looked up
          if (claimed.isEmpty() || !sameHost(claimed.get(0), peer.address())) {
            throw refuse(streamId, io.grpc.Status.PERMISSION_DENIED, "node " + node.getId() + " says "
                + WorkloadMetadata.INSTANCE_IPS + "=" + abbreviate(String.join(",", claimed)) + ", but its connection comes from "
                + from + "; a workload registers the IP address it connects from");
          }
          java.util.Optional<String> holder = registry.holderOf(node.getId());
          if (holder.isPresent() && !holder.get().equals(identity.namespace() + "/" + identity.serviceAccount())) {
            throw refuse(streamId, io.grpc.Status.PERMISSION_DENIED, "node id " + node.getId() + " is registered by "
                + "another identity; a workload keeps its own node id");
          }
        }
      }
      default -> throw new IllegalStateException("unknown port kind " + peer.port());
    }
  }

  private static java.util.List<String> instanceIps(Node node) {
    var fields = node.getMetadata().getFieldsMap();
    if (!fields.containsKey(WorkloadMetadata.INSTANCE_IPS)) {
      return java.util.List.of();
    }
    return java.util.Arrays.stream(fields.get(WorkloadMetadata.INSTANCE_IPS).getStringValue().split(","))
        .map(String::strip).filter(ip -> !ip.isEmpty()).toList();
  }

  /**
   * Registers the workload a node describes, if it serves a service. Returns the error text when
   * the node claims a service but describes it wrongly; the stream still gets config.
   */
  private Optional<String> register(long streamId, Node node) {
    Optional<WorkloadMetadata> metadata;
    try {
      metadata = WorkloadMetadata.fromNode(node);
    } catch (IllegalArgumentException e) {
      log.warn("not registering node {}: {}", node.getId(), e.getMessage());
      return Optional.of(e.getMessage());
    }
    metadata.ifPresent(workload -> registry.streamOpened(streamId, node.getId(), workload));
    return Optional.empty();
  }

  /** Kubernetes' rule for a namespace name (a DNS label), which also keeps {@code ;} out of profile keys. */
  private static final String NAMESPACE_NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 80) + "…";
  }

  private static boolean sameHost(String claimed, Optional<java.net.InetAddress> from) {
    boolean literal = claimed.matches("(\\d{1,3}\\.){3}\\d{1,3}") || claimed.matches("\\[?[0-9A-Fa-f:.]+]?");
    if (from.isEmpty() || !literal) {
      return false;
    }
    try {
      // an IP literal: getByName parses it and looks nothing up
      java.net.InetAddress address = java.net.InetAddress.getByName(claimed);
      // a loopback connection may register any loopback address: all of them are this host
      return address.equals(from.get()) || (address.isLoopbackAddress() && from.get().isLoopbackAddress());
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private RequestException refuse(long streamId, io.grpc.Status status, String reason) {
    refusals.computeIfAbsent(status.getCode(), code -> new RateLimitedWarning(clock, limits.warningInterval()))
        .log(log, "refused xDS stream " + streamId + " (" + status.getCode() + "): " + reason);
    forget(streamId);
    return new RequestException(status.withDescription(reason));
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    Stream stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    synchronized (stream) {
      String type = TypeNames.shortName(response.getTypeUrl());
      stream.lastSent.put(type, new Sent(response.getNonce(), response.getVersionInfo()));
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
    Stream stream = forget(streamId);
    if (stream != null && stream.node != null) {
      log.info("client {} disconnected (stream {})", nodeId(stream), streamId);
    }
    registry.streamClosed(streamId);
  }

  /** Drops all that is kept of a stream, once: at its refusal and again at its end. */
  private Stream forget(long streamId) {
    Stream stream = streams.remove(streamId);
    if (stream != null) {
      forgetPending(stream);
      if (stream.profile != null) {
        profiles.release(stream.profile);
      }
    }
    return stream;
  }

  private void forgetPending(Stream stream) {
    DiscoveryRequest key = stream.pendingKey;
    if (key != null) {
      pending.remove(key);
      stream.pendingKey = null;
    }
  }

  /** The request as the cache should see it; the same object when nothing needed fixing. */
  DiscoveryRequest normalized(DiscoveryRequest request) {
    DiscoveryRequest fixed = pending.remove(request);
    return fixed == null ? request : fixed;
  }

  /** Streams open now, admitted or not yet. */
  int streamCount() {
    return streams.size();
  }

  /** Prepared requests not yet taken by the cache: at most one per open stream. */
  int pendingCount() {
    return pending.size();
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
            stream.types, stream.registrationError, stream.identity, stream.address));
      }
    }
    result.sort(Comparator.comparing(ClientStatus::nodeId).thenComparing(ClientStatus::streamId));
    return result;
  }

  private static String nodeId(Stream stream) {
    return stream.node == null ? "stream-" + stream.id : stream.node.getId();
  }
}
