package dev.inmesh.internal.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.Code;
import com.google.rpc.Status;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.routing.RouteTable;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inmesh's own ADS client, on grpc-java. It subscribes to every listener and cluster of its
 * namespace (wildcard LDS and CDS), then to the route configurations and endpoints they name,
 * tracks versions and nonces per type, ACKs what it accepts and NACKs, naming the resource and the
 * field, what it cannot honour. A NACKed response changes nothing. The stream reconnects with
 * jittered backoff, moving to the next control server each time, and the last accepted resources
 * stay in force meanwhile. For {@link #RECONNECT_HOLD} after a new stream's first response, what an
 * update would remove stays in force ({@link ReconnectHold}): a control server that has just
 * restarted may not know every workload yet.
 *
 * <p>All state lives on one serializing executor; published {@link XdsResources} are immutable.
 */
public final class AdsClient implements AutoCloseable {
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  private static final List<String> TYPES = List.of(LDS, CDS, RDS, EDS);
  static final String INBOUND_LISTENER_PREFIX = "grpc/server?";
  private static final Logger log = LoggerFactory.getLogger(AdsClient.class);
  private static final long MAX_BACKOFF_MILLIS = 10_000;
  /**
   * How long after reconnecting removals wait: long enough for every workload of the mesh to
   * reconnect to a restarted control server from its longest backoff, and register again.
   */
  public static final java.time.Duration RECONNECT_HOLD = java.time.Duration.ofSeconds(30);

  private final List<String> servers;
  private final Node node;
  private final ScheduledExecutorService sync;
  private final Function<String, ManagedChannel> channels;
  private final Consumer<XdsResources> publisher;
  private final RandomGenerator random;
  private final java.time.Duration reconnectHold;

  private final Map<String, TypeState> types = new HashMap<>();
  private final Map<String, ListenerConfig> listeners = new LinkedHashMap<>();
  private final Map<String, InboundPolicy> inbound = new LinkedHashMap<>();
  private final Set<String> ownInboundPrefixes;
  private final Map<String, RouteTable> routes = new LinkedHashMap<>();
  private final Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
  private final Map<String, List<Endpoint>> endpoints = new LinkedHashMap<>();
  private final Map<String, String> lastNacks = new LinkedHashMap<>();

  private int serverIndex;
  private int failures;
  private ManagedChannel channel;
  private ClientCallStreamObserver<DiscoveryRequest> stream;
  private boolean sentNode;
  private boolean closed;
  private volatile String connectionState = "not connected yet";
  /** What was last published; while holding, what the next update may not remove. */
  private XdsResources inForce = XdsResources.EMPTY;
  /** A reconnect happened with config in force: the hold starts at the new stream's first response. */
  private boolean holdPending;
  private boolean holding;
  /** When the hold began, and when the current stream's first response came (-1: no stream up), in nanos. */
  private long holdSince;
  private long streamUpSince = -1;
  private List<String> kept = List.of();

  private static final class TypeState {
    String version = "";
    String nonce = "";
    boolean received;
    Set<String> subscribed = new TreeSet<>();
  }

  /**
   * @param channels makes a channel for a server address ({@code host:port})
   * @param publisher receives every new set of accepted resources, on {@code sync}
   */
  public AdsClient(List<String> servers, AdsNode node, ScheduledExecutorService sync,
      Function<String, ManagedChannel> channels, Consumer<XdsResources> publisher, RandomGenerator random) {
    this(servers, node, sync, channels, publisher, random, RECONNECT_HOLD);
  }

  /** As above, holding removals for {@code reconnectHold} after a reconnect (zero: never). */
  public AdsClient(List<String> servers, AdsNode node, ScheduledExecutorService sync,
      Function<String, ManagedChannel> channels, Consumer<XdsResources> publisher, RandomGenerator random,
      java.time.Duration reconnectHold) {
    this.reconnectHold = reconnectHold;
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("at least one control server is needed");
    }
    this.servers = List.copyOf(servers);
    this.node = node.proto();
    this.sync = sync;
    this.channels = channels;
    this.publisher = publisher;
    this.random = random;
    // a workload reads the server listeners of its own address and of the wildcard ones; a pure client none
    this.ownInboundPrefixes = WorkloadMetadata.fromNode(this.node)
        .map(meta -> Set.of(INBOUND_LISTENER_PREFIX + "xds.resource.listening_address=" + meta.address() + ":",
            INBOUND_LISTENER_PREFIX + "xds.resource.listening_address=0.0.0.0:",
            INBOUND_LISTENER_PREFIX + "xds.resource.listening_address=[::]:"))
        .orElse(Set.of());
    TYPES.forEach(type -> types.put(type, new TypeState()));
  }

  public void start() {
    sync.execute(this::connect);
  }

  /** The control server the stream is on, or being opened to; read it on the serializing executor. */
  public String currentServer() {
    return servers.get(serverIndex);
  }

  /**
   * The channel the stream is on now, to the server {@link #currentServer()} names; load reports
   * share it, as grpc-java's do. Read it on the serializing executor: a reconnect replaces it.
   */
  public ManagedChannel channel() {
    return channel;
  }

  /** What the client is waiting for, for error messages: the types not yet received and why. */
  public String waitingFor() {
    List<String> missing = new ArrayList<>();
    for (String type : TYPES) {
      TypeState state = types.get(type);
      if (!state.received && (type.equals(LDS) || type.equals(CDS) || !state.subscribed.isEmpty())) {
        missing.add(shortName(type) + (state.subscribed.isEmpty() ? "" : " " + state.subscribed));
      }
    }
    return (missing.isEmpty() ? "nothing" : String.join(", ", missing)) + " from " + servers.get(serverIndex)
        + " (" + connectionState + ")";
  }

  private void connect() {
    if (closed) {
      return;
    }
    String server = servers.get(serverIndex);
    connectionState = "connecting to " + server;
    if (channel != null) {
      channel.shutdownNow();
    }
    channel = channels.apply(server);
    sentNode = false;
    holdPending = inForce.complete() && !reconnectHold.isZero();
    types.values().forEach(state -> state.nonce = "");
    AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(
        new ClientResponseObserver<DiscoveryRequest, DiscoveryResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
            stream = requestStream;
          }

          @Override
          public void onNext(DiscoveryResponse response) {
            onSync(() -> handle(response));
          }

          @Override
          public void onError(Throwable t) {
            onSync(() -> streamEnded(server, t.getMessage()));
          }

          @Override
          public void onCompleted() {
            onSync(() -> streamEnded(server, "stream closed by the server"));
          }
        });
    for (String type : TYPES) {
      TypeState state = types.get(type);
      if (type.equals(LDS) || type.equals(CDS) || !state.subscribed.isEmpty()) {
        send(type, null);
      }
    }
  }

  /** Runs on the serializing executor; after close() the stream's last callbacks have nothing to do. */
  private void onSync(Runnable task) {
    try {
      sync.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      if (!sync.isShutdown()) {
        throw e;
      }
    }
  }

  private void streamEnded(String server, String reason) {
    if (closed) {
      return;
    }
    stream = null;
    streamUpSince = -1;
    serverIndex = (serverIndex + 1) % servers.size();
    long base = Math.min(MAX_BACKOFF_MILLIS, 100L << Math.min(failures++, 7));
    long delay = base / 2 + random.nextLong(base / 2 + 1);
    connectionState = "lost " + server + ": " + reason + "; retrying " + servers.get(serverIndex) + " in " + delay + " ms";
    log.warn("ADS stream to {} ended ({}); keeping the last accepted config, reconnecting to {} in {} ms",
        server, reason, servers.get(serverIndex), delay);
    sync.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private void handle(DiscoveryResponse response) {
    if (closed) {
      return;
    }
    failures = 0;
    connectionState = "connected to " + servers.get(serverIndex);
    if (streamUpSince < 0) {
      streamUpSince = System.nanoTime();
    }
    if (holdPending) {
      holdPending = false;
      if (!holding) {
        // one hold at a time: a reconnect while holding goes on with it, relative to what it kept
        holding = true;
        holdSince = streamUpSince;
        sync.schedule(this::endHold, reconnectHold.toMillis(), TimeUnit.MILLISECONDS);
      }
    }
    String type = response.getTypeUrl();
    TypeState state = types.get(type);
    if (state == null) {
      send(type, nack(response, "type " + type + " was not requested"));
      return;
    }
    List<String> errors = new ArrayList<>();
    Map<String, Object> parsed = new LinkedHashMap<>();
    for (Any any : response.getResourcesList()) {
      try {
        parse(type, any, parsed);
      } catch (XdsParseException e) {
        errors.add(e.getMessage());
      } catch (InvalidProtocolBufferException e) {
        errors.add(shortName(type) + " resource: cannot decode " + any.getTypeUrl() + ": " + e.getMessage());
      }
    }
    state.nonce = response.getNonce();
    if (!errors.isEmpty()) {
      String detail = String.join("; ", errors);
      lastNacks.put(shortName(type), response.getVersionInfo() + ": " + detail);
      log.warn("NACK {} version {}: {}", shortName(type), response.getVersionInfo(), detail);
      send(type, nack(response, detail));
      publish();
      return;
    }
    accept(type, parsed);
    state.version = response.getVersionInfo();
    state.received = true;
    lastNacks.remove(shortName(type));
    List<String> resubscribed = updateSubscriptions();
    // in force before the ACK leaves: the control plane (meshctl status, its converged()) takes an
    // ACKed version as the one the client routes by; the new names are asked for after the ACK
    publish();
    send(type, null);
    resubscribed.forEach(changed -> send(changed, null));
  }

  private void parse(String type, Any any, Map<String, Object> into)
      throws XdsParseException, InvalidProtocolBufferException {
    switch (type) {
      case LDS -> {
        Listener listener = TypedConfigs.unpack(any, TypedConfigs.LISTENER, Listener.parser());
        // server listeners (gRFC A36) of every workload of the namespace come with the wildcard
        if (GatewayListenerParser.isGatewayListener(listener)) {
          into.put(listener.getName(), GatewayListenerParser.parse(listener));
        } else if (!listener.getName().startsWith(INBOUND_LISTENER_PREFIX)) {
          into.put(listener.getName(), ListenerParser.parse(listener));
        } else if (ownInboundPrefixes.stream().anyMatch(listener.getName()::startsWith)) {
          into.put(listener.getName(), InboundListenerParser.parse(listener));
        }
      }
      case RDS -> {
        RouteConfiguration config = TypedConfigs.unpack(any, TypedConfigs.ROUTE_CONFIGURATION, RouteConfiguration.parser());
        into.put(config.getName(), RouteParser.parse(config));
      }
      case CDS -> {
        Cluster cluster = TypedConfigs.unpack(any, TypedConfigs.CLUSTER, Cluster.parser());
        into.put(cluster.getName(), ClusterParser.parse(cluster));
      }
      case EDS -> {
        ClusterLoadAssignment assignment = TypedConfigs.unpack(any, TypedConfigs.CLUSTER_LOAD_ASSIGNMENT, ClusterLoadAssignment.parser());
        into.put(assignment.getClusterName(), ClusterParser.endpoints(assignment));
      }
      default -> throw new IllegalStateException(type);
    }
  }

  @SuppressWarnings("unchecked")
  private void accept(String type, Map<String, Object> parsed) {
    switch (type) {
      case LDS -> {
        listeners.clear();
        inbound.clear();
        parsed.forEach((name, value) -> {
          if (value instanceof InboundPolicy policy) {
            inbound.put(name, policy);
          } else {
            listeners.put(name, (ListenerConfig) value);
          }
        });
      }
      case CDS -> {
        clusters.clear();
        parsed.forEach((name, value) -> clusters.put(name, (ClusterConfig) value));
      }
      case RDS -> parsed.forEach((name, value) -> routes.put(name, (RouteTable) value));
      case EDS -> parsed.forEach((name, value) -> endpoints.put(name, (List<Endpoint>) value));
      default -> throw new IllegalStateException(type);
    }
  }

  /**
   * RDS and EDS follow what the accepted listeners and clusters name: takes those names as the
   * subscriptions and returns the types to ask again, in order (the caller sends them).
   */
  private List<String> updateSubscriptions() {
    Set<String> routeNames = new TreeSet<>();
    for (ListenerConfig listener : listeners.values()) {
      if (listener.gateway().isPresent()) {
        listener.gateway().get().servers().forEach(server -> routeNames.add(server.routeConfigName()));
      } else if (listener.inlineRoutes().isEmpty()) {
        routeNames.add(listener.routeConfigName());
      }
    }
    Set<String> endpointNames = new TreeSet<>();
    clusters.values().stream().filter(c -> !c.edsServiceName().isEmpty()).forEach(c -> endpointNames.add(c.edsServiceName()));
    List<String> ask = new ArrayList<>(2);
    if (resubscribe(RDS, routeNames)) {
      ask.add(RDS);
    }
    if (resubscribe(EDS, endpointNames)) {
      ask.add(EDS);
    }
    routes.keySet().retainAll(routeNames);
    endpoints.keySet().retainAll(endpointNames);
    return ask;
  }

  /** Takes {@code names} as the type's subscription; true when the server must be asked again. */
  private boolean resubscribe(String type, Set<String> names) {
    TypeState state = types.get(type);
    if (state.subscribed.equals(names)) {
      return false;
    }
    Set<String> added = new LinkedHashSet<>(names);
    added.removeAll(state.subscribed);
    state.subscribed = new TreeSet<>(names);
    if (!added.isEmpty()) {
      state.received = false;
    }
    // an empty list would mean "everything" to the server; dropping all names needs no request
    return !names.isEmpty();
  }

  private void publish() {
    boolean complete = types.get(LDS).received && types.get(CDS).received
        && (types.get(RDS).subscribed.isEmpty() || routes.keySet().containsAll(types.get(RDS).subscribed))
        && (types.get(EDS).subscribed.isEmpty() || endpoints.keySet().containsAll(types.get(EDS).subscribed));
    Map<String, String> versions = new LinkedHashMap<>();
    types.forEach((type, state) -> versions.put(shortName(type), state.version));
    XdsResources received = new XdsResources(listeners, inbound, routes, clusters, endpoints, versions, lastNacks, complete);
    XdsResources next = received;
    List<String> nowKept = List.of();
    if (holding) {
      ReconnectHold.Merged merged = ReconnectHold.merge(inForce, received);
      next = merged.resources();
      nowKept = merged.kept();
    }
    if (!nowKept.equals(kept) && !nowKept.isEmpty()) {
      log.warn("{} no longer sends {}, right after a reconnect; keeping them for {} s in case it does not know"
          + " the whole mesh yet", servers.get(serverIndex), nowKept, reconnectHold.toSeconds());
    }
    kept = nowKept;
    inForce = next;
    publisher.accept(next);
  }

  /**
   * Ends the hold once a stream has been up for the whole hold: a stream that ends sooner may have
   * sent only part of the mesh, and the next one goes on holding. Streams that keep ending end it
   * anyway after {@code HOLD_LIMIT} holds, at the first moment one is up, so a removal is delayed,
   * never lost.
   */
  private void endHold() {
    if (closed || !holding) {
      return;
    }
    long now = System.nanoTime();
    long hold = reconnectHold.toNanos();
    boolean up = streamUpSince >= 0;
    if (up && (now - streamUpSince >= hold || now - holdSince >= hold * HOLD_LIMIT)) {
      holding = false;
      if (!kept.isEmpty()) {
        log.info("the reconnect hold is over; {} goes as {} sends it", kept, servers.get(serverIndex));
        publish();
      }
      return;
    }
    long wait = up ? Math.max(1, Math.min(hold - (now - streamUpSince), hold * HOLD_LIMIT - (now - holdSince))) : hold;
    sync.schedule(this::endHold, Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)), TimeUnit.MILLISECONDS);
  }

  /** How many holds long streams that keep ending may stretch one. */
  private static final int HOLD_LIMIT = 4;


  private DiscoveryRequest.Builder nack(DiscoveryResponse response, String detail) {
    return DiscoveryRequest.newBuilder()
        .setResponseNonce(response.getNonce())
        .setErrorDetail(Status.newBuilder().setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(detail));
  }

  /** Sends the current subscription of a type: an ACK, a NACK (with error detail) or a new request. */
  private void send(String type, DiscoveryRequest.Builder builder) {
    ClientCallStreamObserver<DiscoveryRequest> current = stream;
    if (current == null || closed) {
      return;
    }
    TypeState state = types.get(type);
    DiscoveryRequest.Builder request = builder == null ? DiscoveryRequest.newBuilder() : builder;
    request.setTypeUrl(type);
    if (state != null) {
      request.setResponseNonce(state.nonce).setVersionInfo(state.version).addAllResourceNames(state.subscribed);
    }
    if (!sentNode) {
      request.setNode(node);
      sentNode = true;
    }
    current.onNext(request.build());
  }

  static String shortName(String type) {
    return switch (type) {
      case LDS -> "LDS";
      case RDS -> "RDS";
      case CDS -> "CDS";
      case EDS -> "EDS";
      default -> type;
    };
  }

  @Override
  public void close() {
    sync.execute(() -> {
      closed = true;
      if (stream != null) {
        stream.onCompleted();
      }
      if (channel != null) {
        channel.shutdownNow();
      }
    });
  }
}
