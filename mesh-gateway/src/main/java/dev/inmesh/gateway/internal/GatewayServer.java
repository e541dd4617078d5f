package dev.inmesh.gateway.internal;

import dev.inmesh.Mesh;
import dev.inmesh.gateway.GatewayOptions;
import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.model.ListenerConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the open ports equal to the gateway listeners of the Mesh's current snapshot: opens a port
 * for a new listener, swaps a changed one's config (new connections use it), closes a removed one.
 * It looks at the snapshot on one thread every {@code CHECK_MILLIS}; the snapshot is immutable, so
 * a config is never seen half-applied. On the same beat it looks at the TLS servers' certificate
 * files, and swaps in the config of a port whose files changed (a rotated certificate, or one
 * written after its Gateway arrived), as Istio's gateway takes a changed Secret.
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);
  private static final long CHECK_MILLIS = 200;

  private final Mesh mesh;
  private final GatewayOptions options;
  private final Forwarder forwarder;
  private final TlsContexts contexts;
  private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoopGroup workers = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
  private final AtomicInteger connections = new AtomicInteger();
  private final ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "inmesh-gateway-config");
    thread.setDaemon(true);
    return thread;
  });
  private final Map<Integer, PortServer> ports = new HashMap<>();
  private volatile Map<Integer, GatewayListener> applied = Map.of();
  /** Ports that could not be bound, logged once each until they are. */
  private final java.util.Set<Integer> unbound = new java.util.HashSet<>();

  public GatewayServer(Mesh mesh, GatewayOptions options, Forwarder forwarder) {
    this.mesh = mesh;
    this.options = options;
    this.forwarder = forwarder;
    this.contexts = new TlsContexts(options.credentialsDir(), mesh.certificates());
  }

  public void start() {
    watcher.scheduleWithFixedDelay(this::check, 0, CHECK_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** The local port serving a Gateway port, once its listener has arrived. */
  public OptionalInt localPort(int gatewayPort) {
    PortServer server;
    synchronized (ports) {
      server = ports.get(gatewayPort);
    }
    return server == null ? OptionalInt.empty() : OptionalInt.of(server.localPort());
  }

  private void check() {
    try {
      Map<Integer, GatewayListener> wanted = new TreeMap<>();
      for (ListenerConfig listener : mesh.snapshot().resources().listeners().values()) {
        listener.gateway().ifPresent(g -> wanted.put(g.port(), g));
      }
      if (wanted.equals(applied)) {
        reloadChangedCertificates();
        return;
      }
      apply(wanted);
    } catch (Exception e) {
      // whatever happens, the check runs again: an exception would end the scheduled task
      log.error("applying the gateway's listeners failed; the ports keep what they served", e);
    }
  }

  private void apply(Map<Integer, GatewayListener> wanted) {
    Map<Integer, GatewayListener> nowApplied = new TreeMap<>(applied);
    synchronized (ports) {
      for (var it = ports.entrySet().iterator(); it.hasNext(); ) {
        var entry = it.next();
        if (!wanted.containsKey(entry.getKey())) {
          log.info("gateway port {} is no longer configured; closing it", entry.getKey());
          entry.getValue().close();
          it.remove();
          nowApplied.remove(entry.getKey());
        }
      }
      for (GatewayListener listener : wanted.values()) {
        if (Objects.equals(applied.get(listener.port()), listener)) {
          continue;
        }
        PortServer server = ports.get(listener.port());
        PortConfig config = PortConfig.of(listener, contexts, server == null ? null : server.config());
        try {
          if (server == null) {
            ports.put(listener.port(), new PortServer(listener.port(), config, options, forwarder, boss, workers, connections));
          } else {
            server.update(config);
          }
          nowApplied.put(listener.port(), listener);
          unbound.remove(listener.port());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } catch (RuntimeException e) {
          // a port we cannot bind is tried again at the next check, and logged the first time
          if (unbound.add(listener.port())) {
            log.error("gateway port {} (local {}) cannot be opened, trying again: {}", listener.port(),
                options.localPortFor(listener.port()), e.toString());
          }
        }
      }
    }
    applied = Map.copyOf(nowApplied);
  }

  /** A port whose certificate files changed gets its config made again: new handshakes use the new files. */
  private void reloadChangedCertificates() {
    synchronized (ports) {
      for (PortServer server : ports.values()) {
        PortConfig config = server.config();
        if (config.stale(contexts)) {
          server.update(PortConfig.of(config.listener(), contexts, config));
        }
      }
    }
  }

  @Override
  public void close() {
    watcher.shutdownNow();
    synchronized (ports) {
      ports.values().forEach(PortServer::close);
      ports.clear();
    }
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    forwarder.close();
  }
}
