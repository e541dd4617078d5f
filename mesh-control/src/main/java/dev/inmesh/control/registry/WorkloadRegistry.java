package dev.inmesh.control.registry;

import dev.inmesh.control.store.RegistryStore;
import dev.inmesh.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers workloads from their ADS streams. A workload joins when its first request arrives
 * with service metadata, and leaves once no stream of its node has been open for the grace
 * period, so a quick reconnect keeps it registered.
 */
public final class WorkloadRegistry {
  private static final Logger log = LoggerFactory.getLogger(WorkloadRegistry.class);

  private final RegistryStore store;
  private final ScheduledExecutorService scheduler;
  private final Duration grace;
  private final Clock clock;
  private final Map<Long, String> nodeByStream = new ConcurrentHashMap<>();
  private final Map<String, ScheduledFuture<?>> pendingRemovals = new ConcurrentHashMap<>();

  public WorkloadRegistry(RegistryStore store, ScheduledExecutorService scheduler, Duration grace, Clock clock) {
    this.store = store;
    this.scheduler = scheduler;
    this.grace = grace;
    this.clock = clock;
  }

  /**
   * Called with the first request of a stream. Returns the error text when the node claims a
   * service but describes it wrongly; the stream still gets config.
   */
  public Optional<String> streamOpened(long streamId, Node node) {
    Optional<WorkloadMetadata> metadata;
    try {
      metadata = WorkloadMetadata.fromNode(node);
    } catch (IllegalArgumentException e) {
      log.warn("not registering node {}: {}", node.getId(), e.getMessage());
      return Optional.of(e.getMessage());
    }
    if (metadata.isEmpty()) {
      return Optional.empty();
    }
    nodeByStream.put(streamId, node.getId());
    ScheduledFuture<?> pending = pendingRemovals.remove(node.getId());
    if (pending != null) {
      pending.cancel(false);
    }
    store.put(new Workload(node.getId(), metadata.get(), clock.instant()));
    log.info("registered {} as {}.{} at {}", node.getId(), metadata.get().service(), metadata.get().namespace(),
        metadata.get().address());
    return Optional.empty();
  }

  public void streamClosed(long streamId) {
    String nodeId = nodeByStream.remove(streamId);
    if (nodeId == null || nodeByStream.containsValue(nodeId)) {
      return;
    }
    log.info("stream of {} closed; removing it in {} ms unless it reconnects", nodeId, grace.toMillis());
    try {
      pendingRemovals.put(nodeId, scheduler.schedule(() -> {
        pendingRemovals.remove(nodeId);
        if (!nodeByStream.containsValue(nodeId)) {
          store.remove(nodeId);
          log.info("deregistered {}", nodeId);
        }
      }, grace.toMillis(), TimeUnit.MILLISECONDS));
    } catch (RejectedExecutionException e) {
      // mesh-control is shutting down: streams close as the server stops, and nothing is left to update
    }
  }
}
