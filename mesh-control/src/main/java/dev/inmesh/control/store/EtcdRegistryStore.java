package dev.inmesh.control.store;

import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.registry.WorkloadJson;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registered workloads in etcd, one key per node: {@code <prefix>registry/<nodeId>}, put on a
 * lease that this replica owns and keeps alive. The replica that holds a workload's ADS stream
 * writes its key; when the replica dies, its lease runs out and its workloads leave by
 * themselves, unless they have reconnected to another replica, which then holds their keys on its
 * own lease. A replica removes a key only while the key is still the one it wrote, so a late
 * grace-period removal cannot undo a workload's move to another replica.
 *
 * <p>If the lease is lost (etcd unreachable for longer than the TTL), a new one is granted and
 * the workloads this replica still holds are written again.
 */
public final class EtcdRegistryStore implements RegistryStore, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtcdRegistryStore.class);

  private final Client client;
  private final EtcdPrefix<Workload> mirror;
  private final Duration ttl;
  private final Duration timeout;
  /** The workloads whose streams this replica holds: what it writes again on a new lease. */
  private final Map<String, Workload> held = new ConcurrentHashMap<>();
  private final ScheduledExecutorService leases = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "inmesh-etcd-lease");
    thread.setDaemon(true);
    return thread;
  });
  private volatile long lease;
  private volatile CloseableClient keepAlive;
  private volatile boolean closed;

  private EtcdRegistryStore(Client client, String prefix, Duration ttl, Duration timeout) {
    this.client = client;
    this.ttl = ttl;
    this.timeout = timeout;
    this.mirror = new EtcdPrefix<>(client, prefix + "registry/", EtcdRegistryStore::decode);
  }

  /** Grants this replica's lease, loads the registry and keeps watching it. */
  public static EtcdRegistryStore start(Client client, String prefix, Duration ttl, Duration timeout) {
    EtcdRegistryStore store = new EtcdRegistryStore(client, prefix, ttl, timeout);
    store.grantLease();
    store.mirror.start(timeout);
    return store;
  }

  /** The lease this replica puts its workloads on (for tests and the debug API). */
  public long lease() {
    return lease;
  }

  @Override
  public void put(Workload workload) {
    held.put(workload.nodeId(), workload);
    try {
      write(workload, lease);
    } catch (IllegalStateException e) {
      log.warn("registering {} in etcd failed; retrying: {}", workload.nodeId(), e.getMessage());
      schedule(this::rewriteHeld, Duration.ofMillis(500));
    }
  }

  @Override
  public void remove(String nodeId) {
    held.remove(nodeId);
    String key = keyOf(nodeId);
    Optional<EtcdPrefix.Entry<Workload>> current = mirror.get(key);
    if (current.isEmpty() || current.get().lease() != lease) {
      return; // gone already, or another replica holds the workload now
    }
    try {
      TxnResponse response = EtcdConfigStore.await(client.getKVClient().txn()
          .If(new Cmp(EtcdPrefix.bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(current.get().modRevision())))
          .Then(Op.delete(EtcdPrefix.bytes(key), DeleteOption.DEFAULT))
          .commit(), "removing " + nodeId);
      mirror.awaitRevision(response.getHeader().getRevision(), timeout);
    } catch (IllegalStateException e) {
      log.warn("removing {} from etcd failed; it leaves when this replica's lease expires: {}", nodeId, e.getMessage());
    }
  }

  @Override
  public List<Workload> list() {
    return mirror.values();
  }

  @Override
  public void addListener(Runnable listener) {
    mirror.addListener(listener);
  }

  /** Writes {@code workload} on {@code onLease} and waits until the mirror has it. */
  private void write(Workload workload, long onLease) {
    String key = keyOf(workload.nodeId());
    TxnResponse response = EtcdConfigStore.await(client.getKVClient().txn()
        .Then(Op.put(EtcdPrefix.bytes(key), EtcdPrefix.bytes(WorkloadJson.encode(workload)), PutOption.builder().withLeaseId(onLease).build()))
        .commit(), "registering " + workload.nodeId());
    mirror.awaitRevision(response.getHeader().getRevision(), timeout);
  }

  private void grantLease() {
    long granted = EtcdConfigStore.await(client.getLeaseClient().grant(ttl.toSeconds()), "granting a lease").getID();
    lease = granted;
    keepAlive = client.getLeaseClient().keepAlive(granted, new StreamObserver<LeaseKeepAliveResponse>() {
      @Override
      public void onNext(LeaseKeepAliveResponse response) {
        if (response.getTTL() <= 0) {
          lost(granted, "etcd says it expired");
        }
      }

      @Override
      public void onError(Throwable t) {
        // jetcd reports a broken keep-alive stream here and opens a new one itself; the lease is
        // lost only if etcd says so
        log.info("keep-alive of registry lease {} interrupted ({}); checking the lease", Long.toHexString(granted), t.toString());
        schedule(() -> check(granted), Duration.ofMillis(500));
      }

      @Override
      public void onCompleted() {
        lost(granted, "the keep-alive stream ended");
      }
    });
    log.info("registry lease {} granted for {} s", Long.toHexString(granted), ttl.toSeconds());
  }

  private void check(long which) {
    if (closed || which != lease) {
      return;
    }
    try {
      long left = EtcdConfigStore.await(client.getLeaseClient().timeToLive(which, io.etcd.jetcd.options.LeaseOption.DEFAULT),
          "reading the registry lease").getTTL();
      if (left <= 0) {
        lost(which, "etcd says it expired");
      }
    } catch (IllegalStateException e) {
      log.warn("cannot read registry lease {}; trying again: {}", Long.toHexString(which), e.getMessage());
      schedule(() -> check(which), Duration.ofSeconds(1));
    }
  }

  private void lost(long which, String reason) {
    if (closed || which != lease) {
      return;
    }
    log.warn("registry lease {} lost ({}); granting a new one and registering {} workloads again",
        Long.toHexString(which), reason, held.size());
    schedule(this::renewLease, Duration.ZERO);
  }

  /** A new lease, and every held workload written on it where no other replica took it over. */
  private void renewLease() {
    if (closed) {
      return;
    }
    long old = lease;
    try {
      CloseableClient previous = keepAlive;
      if (previous != null) {
        previous.close();
      }
      grantLease();
    } catch (IllegalStateException e) {
      log.warn("renewing the registry lease failed; retrying: {}", e.getMessage());
      schedule(this::renewLease, Duration.ofSeconds(1));
      return;
    }
    rewriteHeld(old);
  }

  private void rewriteHeld() {
    rewriteHeld(lease);
  }

  /**
   * Writes every held workload on the current lease where its key is missing or still on
   * {@code old} (or on the current lease already): a key on another replica's lease means the
   * workload has moved there, and this replica's stream of it is about to close.
   */
  private void rewriteHeld(long old) {
    try {
      for (Workload workload : held.values()) {
        Optional<EtcdPrefix.Entry<Workload>> current = mirror.get(keyOf(workload.nodeId()));
        if (current.isEmpty() || current.get().lease() == old || current.get().lease() == lease) {
          write(workload, lease);
        }
      }
    } catch (IllegalStateException e) {
      log.warn("registering workloads in etcd failed; retrying: {}", e.getMessage());
      schedule(this::rewriteHeld, Duration.ofSeconds(1));
    }
  }

  private void schedule(Runnable task, Duration delay) {
    try {
      leases.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private String keyOf(String nodeId) {
    return mirror.prefix() + nodeId;
  }

  private static Optional<Workload> decode(KeyValue kv) {
    String key = kv.getKey().toString(StandardCharsets.UTF_8);
    try {
      Optional<Workload> workload = WorkloadJson.decode(kv.getValue().toString(StandardCharsets.UTF_8));
      if (workload.isEmpty()) {
        log.error("etcd key {} holds a node without a service, ignoring it", key);
      }
      return workload;
    } catch (IOException | RuntimeException e) {
      log.error("etcd key {} is not a registered workload, ignoring it: {}", key, e.toString());
      return Optional.empty();
    }
  }

  /**
   * Stops keeping the lease alive without revoking it: the workloads of this replica stay
   * registered until the TTL runs out, long enough for them to reconnect to another replica.
   */
  @Override
  public void close() {
    closed = true;
    leases.shutdownNow();
    CloseableClient current = keepAlive;
    if (current != null) {
      current.close();
    }
    mirror.close();
  }
}
