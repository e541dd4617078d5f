package dev.inmesh.control.store;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etcd key prefix mirrored in memory: loaded once, then kept current by a watch from the
 * revision after the load, so that every replica sees every change. Readers get the mirror;
 * writers wait with {@link #awaitRevision} until their own write has come back through the watch,
 * which gives them read-your-writes. A watch that etcd compacted away is started again from a
 * fresh load.
 *
 * @param <T> what a value decodes to; a value that does not decode is logged and left out
 */
final class EtcdPrefix<T> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtcdPrefix.class);

  /** A decoded value with what optimistic writes compare against. */
  record Entry<T>(T value, long modRevision, long lease) {}

  private final Client client;
  private final String prefix;
  private final Function<KeyValue, Optional<T>> decode;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final TreeMap<String, Entry<T>> entries = new TreeMap<>(); // guarded by this
  private long revision; // guarded by this
  private Watch.Watcher watcher; // guarded by this
  private boolean closed; // guarded by this

  EtcdPrefix(Client client, String prefix, Function<KeyValue, Optional<T>> decode) {
    this.client = client;
    this.prefix = prefix;
    this.decode = decode;
  }

  String prefix() {
    return prefix;
  }

  static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  /** Loads the prefix and starts watching it; fails when etcd does not answer within {@code timeout}. */
  void start(Duration timeout) {
    GetResponse loaded;
    try {
      loaded = client.getKVClient().get(bytes(prefix), GetOption.builder().isPrefix(true).build())
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while loading " + prefix + " from etcd", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot load " + prefix + " from etcd: " + e, e);
    }
    synchronized (this) {
      entries.clear();
      for (KeyValue kv : loaded.getKvs()) {
        decodeInto(kv);
      }
      revision = loaded.getHeader().getRevision();
      notifyAll();
      if (closed) {
        return;
      }
      watcher = client.getWatchClient().watch(bytes(prefix),
          WatchOption.builder().isPrefix(true).withRevision(revision + 1).withProgressNotify(true).build(),
          Watch.listener(this::onWatch, this::onWatchError));
    }
    listeners.forEach(Runnable::run);
  }

  void addListener(Runnable listener) {
    listeners.add(listener);
  }

  synchronized List<T> values() {
    return entries.values().stream().map(Entry::value).toList();
  }

  synchronized Map<String, Entry<T>> entries() {
    return Map.copyOf(entries);
  }

  synchronized Optional<Entry<T>> get(String key) {
    return Optional.ofNullable(entries.get(key));
  }

  /**
   * Waits until the mirror holds everything up to {@code target}: after a write, the writer's
   * own change. Gives up after {@code timeout} with a warning; the change still arrives later.
   */
  synchronized void awaitRevision(long target, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (revision < target && !closed) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        log.warn("the watch of {} is at revision {}, not yet at {} after {} ms", prefix, revision, target,
            timeout.toMillis());
        return;
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void onWatch(WatchResponse response) {
    boolean changed = false;
    synchronized (this) {
      for (WatchEvent event : response.getEvents()) {
        KeyValue kv = event.getKeyValue();
        if (event.getEventType() == WatchEvent.EventType.DELETE) {
          changed |= entries.remove(kv.getKey().toString(StandardCharsets.UTF_8)) != null;
        } else if (event.getEventType() == WatchEvent.EventType.PUT) {
          decodeInto(kv);
          changed = true;
        }
        revision = Math.max(revision, kv.getModRevision());
      }
      revision = Math.max(revision, response.getHeader().getRevision());
      notifyAll();
    }
    if (changed) {
      listeners.forEach(Runnable::run);
    }
  }

  private void onWatchError(Throwable error) {
    synchronized (this) {
      if (closed) {
        return;
      }
      watcher = null;
    }
    // jetcd retries lost connections itself; what reaches here is a compacted revision or a
    // closed client: reload the whole prefix and watch from there
    log.warn("the watch of {} failed ({}); reloading it", prefix, error.toString());
    for (int attempt = 1; ; attempt++) {
      synchronized (this) {
        if (closed) {
          return;
        }
      }
      try {
        start(Duration.ofSeconds(10));
        return;
      } catch (IllegalStateException e) {
        log.warn("reloading {} from etcd failed (attempt {}): {}", prefix, attempt, e.getMessage());
        try {
          Thread.sleep(Math.min(5_000, 200L * attempt));
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void decodeInto(KeyValue kv) {
    String key = kv.getKey().toString(StandardCharsets.UTF_8);
    Optional<T> value = decode.apply(kv);
    if (value.isPresent()) {
      entries.put(key, new Entry<>(value.get(), kv.getModRevision(), kv.getLease()));
    } else {
      entries.remove(key);
    }
  }

  @Override
  public void close() {
    Watch.Watcher current;
    synchronized (this) {
      closed = true;
      current = watcher;
      watcher = null;
      notifyAll();
    }
    if (current != null) {
      current.close();
    }
  }
}
