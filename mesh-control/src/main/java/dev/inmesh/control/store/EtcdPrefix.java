package dev.inmesh.control.store;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
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
  private boolean reloading; // guarded by this
  private long generation; // guarded by this; counts the watchers started

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
    long current;
    long from;
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
      current = ++generation;
      from = revision + 1;
    }
    // outside this mirror's lock: jetcd calls back with its own lock held
    Watch.Watcher started = client.getWatchClient().watch(bytes(prefix),
        WatchOption.builder().isPrefix(true).withRevision(from).withProgressNotify(true).build(),
        Watch.listener(response -> onWatch(current, response), error -> onWatchError(current, error),
            () -> onWatchClosed(current)));
    synchronized (this) {
      if (closed || current != generation) {
        started.close();
        return;
      }
      watcher = started;
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

  private void onWatch(long from, WatchResponse response) {
    boolean changed = false;
    synchronized (this) {
      if (from != generation) {
        return;
      }
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

  /**
   * jetcd calls this with its lock held, and resumes the watch by itself after a lost connection
   * (an etcd member gone, say): only a compacted revision ends the watch, and then the prefix is
   * loaded again, on another thread.
   */
  private void onWatchError(long from, Throwable error) {
    synchronized (this) {
      if (from != generation) {
        return;
      }
    }
    if (error instanceof CompactedException) {
      reloadLater(error.toString());
    } else {
      log.info("the watch of {} was interrupted ({}); jetcd resumes it", prefix, error.toString());
    }
  }

  private void onWatchClosed(long from) {
    synchronized (this) {
      if (from != generation) {
        return;
      }
    }
    reloadLater("the watch ended");
  }

  private void reloadLater(String reason) {
    synchronized (this) {
      if (closed || reloading) {
        return;
      }
      reloading = true;
    }
    log.warn("the watch of {} stopped ({}); loading the prefix again", prefix, reason);
    Thread thread = new Thread(this::reload, "inmesh-etcd-reload");
    thread.setDaemon(true);
    thread.start();
  }

  private void reload() {
    for (int attempt = 1; ; attempt++) {
      Watch.Watcher old;
      synchronized (this) {
        if (closed) {
          return;
        }
        old = watcher;
        watcher = null;
        generation++;
      }
      if (old != null) {
        old.close();
      }
      try {
        start(Duration.ofSeconds(10));
        synchronized (this) {
          reloading = false;
        }
        return;
      } catch (IllegalStateException e) {
        log.warn("loading {} from etcd again failed (attempt {}): {}", prefix, attempt, e.getMessage());
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
    Entry<T> existing = entries.get(key);
    if (existing != null && existing.modRevision() > kv.getModRevision()) {
      return; // an event older than what the mirror holds
    }
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
