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
  private final SimpleCache<String> cache = new SimpleCache<>(node -> ClientProfile.of(node).key());
  private final ClientTracker tracker;
  private final Set<String> namespaces = ConcurrentHashMap.newKeySet();
  private final Server server;
  private final LoadReports loadReports;
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
   * @param onNewNamespace called when a client from a namespace without a snapshot connects; the
   *     caller must then {@link #publish} one for it
   */
  public XdsServer(InetSocketAddress address, Clock clock, WorkloadRegistry registry, Consumer<String> onNewNamespace) {
    dev.inmesh.NettyJfr.off();
    this.loadReports = new LoadReports(LOAD_REPORT_INTERVAL, clock);
    this.tracker = new ClientTracker(clock, registry, namespace -> {
      if (namespaces.add(namespace)) {
        onNewNamespace.accept(namespace);
      }
    });
    V3DiscoveryServer discovery = new V3DiscoveryServer(tracker, new TrackingConfigWatcher(cache, tracker));
    this.server = NettyServerBuilder.forAddress(address)
        .addService(discovery.getAggregatedDiscoveryServiceImpl())
        .addService(loadReports)
        .keepAliveTime(30, TimeUnit.SECONDS)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .build();
  }

  public XdsServer start() throws IOException {
    server.start();
    return this;
  }

  public int port() {
    return server.getPort();
  }

  /** The {@link ClientProfile#key() profiles} that have, or had, a connected client. */
  public Set<String> namespaces() {
    return Set.copyOf(namespaces);
  }

  public void addNamespace(String namespace) {
    namespaces.add(namespace);
  }

  /** Starts counting into {@code metrics}. */
  public void metrics(XdsMetrics metrics) {
    tracker.metrics(metrics);
  }

  /** A config change was translated at {@code at}: ACKs from now on count toward convergence. */
  public void changed(java.time.Instant at) {
    tracker.changed(at);
  }

  /** Sets the snapshot of a profile; true when any type's version changed. */
  public boolean publish(String namespace, Translation translation) {
    Snapshot snapshot = Snapshot.create(
        translation.clusters(), version(translation.clusters()),
        translation.endpoints(), version(translation.endpoints()),
        translation.listeners(), version(translation.listeners()),
        translation.routes(), version(translation.routes()),
        List.of(), "");
    Snapshot previous = cache.getSnapshot(namespace);
    boolean changed = previous == null
        || TYPES.stream().anyMatch(type -> !previous.version(type).equals(snapshot.version(type)));
    if (changed) {
      java.util.Deque<Snapshot> kept = history.computeIfAbsent(namespace, k -> new java.util.concurrent.ConcurrentLinkedDeque<>());
      kept.addFirst(snapshot);
      while (kept.size() > HISTORY) {
        kept.removeLast();
      }
    }
    cache.setSnapshot(namespace, snapshot);
    return changed;
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
  public Snapshot snapshot(String namespace) {
    return cache.getSnapshot(namespace);
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
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
