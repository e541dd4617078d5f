package dev.inmesh.control.xds;

import com.google.protobuf.Message;
import dev.inmesh.control.registry.WorkloadRegistry;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.control.translate.Translation;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The ADS endpoint: java-control-plane's server over a snapshot cache with one snapshot per
 * {@link ClientProfile}: the client's namespace (short names resolve in it), its kind and whether
 * it holds mesh certificates. Versions are content hashes per type,
 * so a client is sent a type again only when that type really changed.
 */
public final class XdsServer implements AutoCloseable {
  /** How often clients send load reports. */
  static final java.time.Duration LOAD_REPORT_INTERVAL = java.time.Duration.ofSeconds(2);
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(XdsServer.class);
  private final SimpleCache<String> cache = new SimpleCache<>(node -> ClientProfile.of(node).key());
  private final ClientTracker tracker;
  private final Profiles profiles;
  private final XdsLimits limits = XdsLimits.defaults();
  private final Server server;
  private final java.util.Optional<Server> readOnlyServer;
  private final LoadReports loadReports;
  private final Rollouts rollouts;
  /** The last snapshots per profile, newest first, so that a client's ACKed versions can be shown. */
  private final java.util.Map<String, java.util.Deque<Snapshot>> history = new ConcurrentHashMap<>();
  private static final int HISTORY = 16;
  private static final List<io.envoyproxy.controlplane.cache.Resources.ResourceType> TYPES = List.of(
      io.envoyproxy.controlplane.cache.Resources.ResourceType.LISTENER,
      io.envoyproxy.controlplane.cache.Resources.ResourceType.ROUTE,
      io.envoyproxy.controlplane.cache.Resources.ResourceType.CLUSTER,
      io.envoyproxy.controlplane.cache.Resources.ResourceType.ENDPOINT);
  private static final List<String> TYPE_NAMES = List.of("LDS", "RDS", "CDS", "EDS");

  /**
   * Where and how xDS is served.
   *
   * @param address the xDS port: over mutual TLS when {@code tls} is given, where a stream must
   *     present a mesh certificate and registers only as the identity it proves; plaintext
   *     otherwise, where nothing can be proven and registration goes by what a node claims
   * @param tls the server side of mutual TLS: mesh-control's certificate, client certificates
   *     asked for and verified against the mesh roots
   * @param readOnly an extra plaintext port for clients without a certificate: it serves config,
   *     takes no load reports and registers no one
   */
  public record Ports(InetSocketAddress address, java.util.Optional<io.grpc.netty.shaded.io.netty.handler.ssl.SslContext> tls,
      java.util.Optional<dev.inmesh.internal.security.SpiffeTrustManager> clients, java.util.Optional<InetSocketAddress> readOnly) {
    public Ports {
      java.util.Objects.requireNonNull(address, "address");
      java.util.Objects.requireNonNull(tls, "tls");
      java.util.Objects.requireNonNull(clients, "clients");
      java.util.Objects.requireNonNull(readOnly, "readOnly");
      if (tls.isPresent() != clients.isPresent()) {
        throw new IllegalArgumentException("mutual TLS needs both the server's TLS and the clients' trust");
      }
      if (readOnly.isPresent() && tls.isEmpty()) {
        throw new IllegalArgumentException("a read-only plaintext xDS port goes beside a mutual TLS one; without TLS the"
            + " xDS port is plaintext already");
      }
    }

    /** One plaintext port, as a mesh-control without a CA serves it. */
    public static Ports insecure(InetSocketAddress address) {
      return new Ports(address, java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.empty());
    }
  }

  /**
   * @param onNewProfile called with a {@link ClientProfile#key() profile key} when a client of a
   *     profile without a snapshot connects; the caller must then {@link #publish} one for it
   */
  public XdsServer(InetSocketAddress address, Clock clock, WorkloadRegistry registry, Consumer<String> onNewProfile) {
    this(Ports.insecure(address), clock, registry, onNewProfile);
  }

  /** As above, on {@code ports}, within {@link XdsLimits#defaults()}. */
  public XdsServer(Ports ports, Clock clock, WorkloadRegistry registry, Consumer<String> onNewProfile) {
    dev.inmesh.commons.internal.NettyJfr.off();
    this.loadReports = new LoadReports(LOAD_REPORT_INTERVAL, clock, ports.tls().isPresent(), limits);
    this.profiles = new Profiles(clock, limits);
    this.rollouts = new Rollouts(clock);
    this.tracker = new ClientTracker(clock, registry, profiles, limits, onNewProfile);
    V3DiscoveryServer discovery = new V3DiscoveryServer(tracker, new TrackingConfigWatcher(cache, tracker));
    XdsPeer.Port kind = ports.tls().isPresent() ? XdsPeer.Port.MUTUAL_TLS : XdsPeer.Port.INSECURE;
    NettyServerBuilder builder = NettyServerBuilder.forAddress(ports.address())
        .addService(io.grpc.ServerInterceptors.intercept(discovery.getAggregatedDiscoveryServiceImpl(), XdsPeer.recorder(kind, ports.clients())))
        .addService(io.grpc.ServerInterceptors.intercept(loadReports, loadReportGate(), XdsPeer.recorder(kind, ports.clients())))
        .keepAliveTime(30, TimeUnit.SECONDS)
        .permitKeepAliveTime(10, TimeUnit.SECONDS);
    ports.tls().ifPresent(builder::sslContext);
    this.server = builder.build();
    this.readOnlyServer = ports.readOnly().map(address -> NettyServerBuilder.forAddress(address)
        .addService(io.grpc.ServerInterceptors.intercept(discovery.getAggregatedDiscoveryServiceImpl(),
            XdsPeer.recorder(XdsPeer.Port.READ_ONLY, java.util.Optional.empty())))
        .keepAliveTime(30, TimeUnit.SECONDS)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .build());
  }

  /** Load reports only from a client that proved a mesh identity, where the port can ask for one. */
  private static io.grpc.ServerInterceptor loadReportGate() {
    return new io.grpc.ServerInterceptor() {
      @Override
      public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers,
          io.grpc.ServerCallHandler<Q, R> next) {
        XdsPeer peer = XdsPeer.current();
        if (peer.port() == XdsPeer.Port.MUTUAL_TLS && peer.identity().isEmpty()) {
          call.close(io.grpc.Status.UNAUTHENTICATED.withDescription("load reports need a mesh certificate"), new io.grpc.Metadata());
          return new io.grpc.ServerCall.Listener<>() { };
        }
        return next.startCall(call, headers);
      }
    };
  }

  public XdsServer start() throws IOException {
    server.start();
    if (readOnlyServer.isPresent()) {
      try {
        readOnlyServer.get().start();
      } catch (IOException e) {
        server.shutdownNow();
        throw e;
      }
    }
    return this;
  }

  public int port() {
    return server.getPort();
  }

  /** The read-only plaintext port, when there is one. */
  public java.util.OptionalInt readOnlyPort() {
    return readOnlyServer.map(s -> java.util.OptionalInt.of(s.getPort())).orElse(java.util.OptionalInt.empty());
  }

  /**
   * The {@link ClientProfile#key() profiles} to translate: those with a connected client, those
   * whose last client left less than {@link XdsLimits#profileIdleTime()} ago, and the pinned ones.
   */
  public Set<String> profileKeys() {
    return profiles.keys();
  }

  /** Pins a profile ({@link ClientProfile#key()}): it is translated whether or not a client is served it. */
  public void pinProfile(String profileKey) {
    profiles.pin(profileKey);
  }

  /**
   * Drops the profiles whose last client left longer than {@link XdsLimits#profileIdleTime()} ago,
   * with their snapshots and history; a client of one that comes back later makes it anew.
   *
   * @return the profiles dropped
   */
  public List<String> evictIdleProfiles() {
    List<String> evicted = profiles.evictIdle(this::clearSnapshot);
    evicted.forEach(history::remove);
    evicted.forEach(rollouts::dropped);
    if (!evicted.isEmpty()) {
      log.info("dropped {} profile(s) without a client for {} s: {}", evicted.size(),
          limits.profileIdleTime().toSeconds(), abbreviated(evicted));
    }
    return evicted;
  }

  /**
   * Clears a profile's snapshot unless a watch of it is still open: a stream that ended cancels its
   * watches only after its close callback, and the cache would log a warning for the try.
   */
  private boolean clearSnapshot(String profile) {
    var status = cache.statusInfo(profile);
    return (status == null || status.numWatches() == 0) && cache.clearSnapshot(profile);
  }

  private static String abbreviated(List<String> keys) {
    return keys.size() <= 10 ? String.join(", ", keys) : String.join(", ", keys.subList(0, 10)) + ", …";
  }

  /**
   * How much of what peers can make mesh-control hold it holds now; each is bounded
   * (docs/security.md, "Bounds").
   *
   * @param streams ADS streams open now
   * @param pendingRequests requests prepared for the cache and not yet taken, at most one per stream
   * @param profiles client profiles translated at every rebuild
   * @param loadReportEdges client-to-cluster load entries
   */
  public record Footprint(int streams, int pendingRequests, int profiles, int loadReportEdges) {}

  public Footprint footprint() {
    return new Footprint(tracker.streamCount(), tracker.pendingCount(), profiles.size(), loadReports.edgeCount());
  }

  /**
   * Refuses new streams with {@code UNAVAILABLE} and the reason while {@code reason} gives one:
   * clients keep the config they hold and retry, rather than take a config built without state
   * mesh-control could not load.
   */
  public void refuseWhile(java.util.function.Supplier<java.util.Optional<String>> reason) {
    tracker.refuseWhile(reason);
  }

  /** Starts counting into {@code metrics}. */
  public void metrics(XdsMetrics metrics) {
    tracker.metrics(metrics);
  }

  /** A config change was translated at {@code at}: ACKs from now on count toward convergence. */
  public void changed(java.time.Instant at) {
    tracker.changed(at);
  }

  /** Sets the snapshot of a profile ({@link ClientProfile#key()}); true when any type's version changed. */
  public boolean publish(String profileKey, Translation translation) {
    Snapshot snapshot = Snapshot.create(
        translation.clusters(), version(translation.clusters()),
        translation.endpoints(), version(translation.endpoints()),
        translation.listeners(), version(translation.listeners()),
        translation.routes(), version(translation.routes()),
        List.of(), "");
    Snapshot previous = cache.getSnapshot(profileKey);
    boolean changed = previous == null
        || TYPES.stream().anyMatch(type -> !previous.version(type).equals(snapshot.version(type)));
    if (changed) {
      java.util.Deque<Snapshot> kept = history.computeIfAbsent(profileKey, k -> new java.util.concurrent.ConcurrentLinkedDeque<>());
      kept.addFirst(snapshot);
      while (kept.size() > HISTORY) {
        kept.removeLast();
      }
    }
    cache.setSnapshot(profileKey, snapshot);
    if (changed) {
      java.util.Map<String, String> versions = new java.util.LinkedHashMap<>();
      for (int i = 0; i < TYPES.size(); i++) {
        versions.put(TYPE_NAMES.get(i), snapshot.version(TYPES.get(i)));
      }
      rollouts.published(profileKey, versions);
    }
    return changed;
  }

  /**
   * What every profile is served now: taken before a config change is stored, so that its
   * {@link #rollout} knows which clients it touches.
   */
  public Rollout.Baseline rolloutBaseline() {
    return rollouts.baseline();
  }

  /**
   * Numbers a config change stored after {@code baseline} was taken ({@link #rolloutBaseline}); the
   * caller then makes sure a translation follows ({@link #rolledOut}).
   *
   * @return the change's generation
   */
  public long beginRollout(Rollout.Baseline baseline) {
    return rollouts.begin(baseline);
  }

  /** The newest change numbered: a translation reads it before it reads the config. */
  public long rolloutGeneration() {
    return rollouts.generation();
  }

  /**
   * A translation that read the config after change {@code generation} was numbered has published
   * every profile: that change and the earlier ones are out, to the clients connected now.
   */
  public void rolledOut(long generation) {
    java.util.Map<Long, String> streams = new java.util.HashMap<>();
    tracker.clients().forEach(client -> streams.put(client.streamId(), client.profile()));
    rollouts.built(generation, streams);
  }

  /**
   * How far change {@code generation} has reached the clients, or the newest change when empty.
   *
   * @throws java.util.NoSuchElementException when no such change is remembered
   */
  public Rollout rollout(java.util.OptionalLong generation) {
    List<ClientStatus> clients = tracker.clients();
    if (generation.isEmpty()) {
      return rollouts.latest(clients).orElseThrow(() -> new java.util.NoSuchElementException(
          "no config change has been applied through the API since mesh-control started"));
    }
    return rollouts.rollout(generation.getAsLong(), clients).orElseThrow(() -> new java.util.NoSuchElementException(
        "no config change " + generation.getAsLong() + " is remembered: changes are numbered from 1 at start, up to "
            + rollouts.generation() + ", and the last " + Rollouts.KEPT + " are kept"
            + rollouts.oldest().map(oldest -> " (" + oldest + " on)").orElse("")));
  }

  /**
   * The connected client whose node id is {@code id}, or starts with it when only one does; the
   * newest stream when a node has several.
   *
   * @throws IllegalArgumentException naming the candidates when none or several match
   */
  public ClientStatus client(String id) {
    List<ClientStatus> clients = clients();
    List<ClientStatus> exact = clients.stream().filter(c -> c.nodeId().equals(id)).toList();
    List<ClientStatus> found = exact.isEmpty() ? clients.stream().filter(c -> c.nodeId().startsWith(id)).toList() : exact;
    if (found.isEmpty()) {
      throw new java.util.NoSuchElementException("no connected client has a node id starting with '" + id + "'; connected: "
          + clients.stream().map(ClientStatus::nodeId).distinct().toList());
    }
    if (found.stream().map(ClientStatus::nodeId).distinct().count() > 1) {
      throw new IllegalArgumentException("'" + id + "' names several clients, give more of the node id: "
          + found.stream().map(ClientStatus::nodeId).distinct().toList());
    }
    return found.stream().max(java.util.Comparator.comparingLong(ClientStatus::streamId)).orElseThrow();
  }

  /** What {@code client} holds: per type the version it ACKed and, while remembered, its resources. */
  public ClientConfig held(ClientStatus client) {
    Snapshot current = cache.getSnapshot(client.profile());
    java.util.Map<String, ClientConfig.Held> types = new java.util.LinkedHashMap<>();
    for (int i = 0; i < TYPES.size(); i++) {
      var type = TYPES.get(i);
      String name = TYPE_NAMES.get(i);
      String acked = client.types().getOrDefault(name, ClientStatus.TypeStatus.NONE).ackedVersion();
      java.util.Optional<List<Message>> resources = history.getOrDefault(client.profile(), new java.util.ArrayDeque<>())
          .stream()
          .filter(s -> !acked.isEmpty() && s.version(type).equals(acked))
          .findFirst()
          .map(s -> List.<Message>copyOf(s.resources(type).values()));
      types.put(name, new ClientConfig.Held(acked, current == null ? "" : current.version(type), resources));
    }
    return new ClientConfig(client, types);
  }

  /** What clients reported over LRS, per client and cluster. */
  public LoadReports loadReports() {
    return loadReports;
  }

  public List<ClientStatus> clients() {
    return tracker.clients();
  }

  /** The current resources of a profile ({@link ClientProfile#key()}), for config dumps. */
  public Snapshot snapshot(String profileKey) {
    return cache.getSnapshot(profileKey);
  }

  /** What a profile ({@link ClientProfile#key()}) is served now, as a translation without warnings; empty before its first snapshot. */
  public java.util.Optional<Translation> published(String profileKey) {
    Snapshot snapshot = cache.getSnapshot(profileKey);
    if (snapshot == null) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(new Translation(List.copyOf(snapshot.listeners().resources().values()),
        List.copyOf(snapshot.routes().resources().values()), List.copyOf(snapshot.clusters().resources().values()),
        List.copyOf(snapshot.endpoints().resources().values()), List.of()));
  }

  /**
   * The version a profile ({@link ClientProfile#key()}) is served now of each of {@code types}
   * ({@code LDS}, {@code RDS}, {@code CDS}, {@code EDS}; others are left out); empty before its
   * first snapshot.
   */
  public java.util.Optional<java.util.Map<String, String>> versions(String profileKey, java.util.Collection<String> types) {
    Snapshot snapshot = cache.getSnapshot(profileKey);
    if (snapshot == null) {
      return java.util.Optional.empty();
    }
    java.util.Map<String, String> versions = new java.util.TreeMap<>();
    for (String type : types) {
      int index = TYPE_NAMES.indexOf(type);
      if (index >= 0) {
        versions.put(type, snapshot.version(TYPES.get(index)));
      }
    }
    return java.util.Optional.of(versions);
  }

  private static String version(List<? extends Message> resources) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (Message resource : resources) {
        digest.update(resource.toByteArray());
      }
      return HexFormat.of().formatHex(digest.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JRE", e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    readOnlyServer.ifPresent(Server::shutdownNow);
    server.awaitTermination(5, TimeUnit.SECONDS);
    if (readOnlyServer.isPresent()) {
      readOnlyServer.get().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
