package dev.inmesh.control.registry;

import dev.inmesh.control.store.RegistryStore;
import dev.inmesh.internal.xds.WorkloadMetadata;
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
  private final java.util.function.Supplier<java.util.List<dev.inmesh.control.config.ConfigResource>> config;
  private final ScheduledExecutorService scheduler;
  private final Duration grace;
  private final Clock clock;
  private final Map<Long, String> nodeByStream = new ConcurrentHashMap<>();
  private final Map<String, ScheduledFuture<?>> pendingRemovals = new ConcurrentHashMap<>();

  public WorkloadRegistry(RegistryStore store, ScheduledExecutorService scheduler, Duration grace, Clock clock) {
    this(store, scheduler, grace, clock, java.util.List::of);
  }

  /** As above, bounded by the WorkloadGroups among {@code config}. */
  public WorkloadRegistry(RegistryStore store, ScheduledExecutorService scheduler, Duration grace, Clock clock,
      java.util.function.Supplier<java.util.List<dev.inmesh.control.config.ConfigResource>> config) {
    this.config = config;
    this.store = store;
    this.scheduler = scheduler;
    this.grace = grace;
    this.clock = clock;
  }

  /**
   * Called with the first request of a stream whose node serves a service ({@code metadata}, read
   * from the node by the xDS server): registers the workload until the stream has been gone longer
   * than the grace period.
   */
  public void streamOpened(long streamId, String nodeId, WorkloadMetadata metadata) {
    nodeByStream.put(streamId, nodeId);
    ScheduledFuture<?> pending = pendingRemovals.remove(nodeId);
    if (pending != null) {
      pending.cancel(false);
    }
    store.put(new Workload(nodeId, metadata, clock.instant()));
    log.info("registered {} as {}.{} at {}", nodeId, metadata.service(), metadata.namespace(), metadata.address());
  }

  /**
   * Why {@code serviceAccount} of {@code namespace} may not serve {@code service}, if it may not.
   * The namespace is the boundary by default; a WorkloadGroup of the namespace whose labels say
   * {@code app: <service>} narrows it to the service accounts of such groups' templates.
   */
  public Optional<String> refusal(String namespace, String service, String serviceAccount) {
    java.util.List<dev.inmesh.control.config.ConfigResource> groups = config.get().stream()
        .filter(r -> r.spec() instanceof dev.inmesh.control.config.networking.WorkloadGroup)
        .filter(r -> r.namespace().equals(namespace))
        .filter(r -> service.equals(((dev.inmesh.control.config.networking.WorkloadGroup) r.spec()).workloadLabels().get("app")))
        .toList();
    if (groups.isEmpty()) {
      return Optional.empty();
    }
    java.util.Set<String> allowed = new java.util.TreeSet<>();
    groups.forEach(r -> allowed.add(((dev.inmesh.control.config.networking.WorkloadGroup) r.spec()).serviceAccount()));
    if (allowed.contains(serviceAccount)) {
      return Optional.empty();
    }
    return Optional.of("WorkloadGroup " + groups.stream().map(r -> r.key().toString()).toList() + " lets service accounts "
        + allowed + " serve " + service + "." + namespace + ", not " + serviceAccount);
  }

  /** Who holds the registration of {@code nodeId}, as {@code namespace/serviceAccount}; empty when none does. */
  public Optional<String> holderOf(String nodeId) {
    return store.list().stream().filter(w -> w.nodeId().equals(nodeId)).findFirst()
        .map(w -> w.metadata().namespace() + "/" + w.metadata().serviceAccount());
  }

  /**
   * Registers a workload that was registered before mesh-control restarted, as if its stream had
   * just closed: it stays for {@code keepFor} and leaves then unless it has reconnected.
   */
  public void restore(Workload workload, Duration keepFor) {
    if (store.list().stream().anyMatch(w -> w.nodeId().equals(workload.nodeId()))) {
      return;
    }
    store.put(workload);
    removeLater(workload.nodeId(), keepFor);
  }

  public void streamClosed(long streamId) {
    String nodeId = nodeByStream.remove(streamId);
    if (nodeId == null || nodeByStream.containsValue(nodeId)) {
      return;
    }
    log.info("stream of {} closed; removing it in {} ms unless it reconnects", nodeId, grace.toMillis());
    removeLater(nodeId, grace);
  }

  private void removeLater(String nodeId, Duration after) {
    try {
      pendingRemovals.put(nodeId, scheduler.schedule(() -> {
        pendingRemovals.remove(nodeId);
        if (!nodeByStream.containsValue(nodeId)) {
          store.remove(nodeId);
          log.info("deregistered {}", nodeId);
        }
      }, after.toMillis(), TimeUnit.MILLISECONDS));
    } catch (RejectedExecutionException e) {
      // mesh-control is shutting down: streams close as the server stops, and nothing is left to update
    }
  }
}
