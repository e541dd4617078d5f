package dev.inmesh.http.client;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.OkHttpClient;

/**
 * A call every 15 ms on its own thread until stopped, bounded to two minutes: it counts the calls
 * and keeps every answer outside {@code accepted} (a status code or an exception) as a failure.
 */
final class SteadyLoad implements AutoCloseable {
  private static final long PAUSE_MILLIS = 15;
  private static final long LIMIT_MILLIS = 120_000;

  private final AtomicInteger calls = new AtomicInteger();
  private final List<String> failures = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;

  private SteadyLoad(OkHttpClient client, String url, Set<String> accepted) {
    this.thread = new Thread(() -> {
      long end = System.currentTimeMillis() + LIMIT_MILLIS;
      while (running && System.currentTimeMillis() < end) {
        String answer = HttpMesh.get(client, url, Map.of());
        calls.incrementAndGet();
        if (!accepted.contains(answer)) {
          failures.add(answer);
        }
        HttpMesh.sleep(java.time.Duration.ofMillis(PAUSE_MILLIS));
      }
    }, "steady-load");
  }

  static SteadyLoad start(OkHttpClient client, String url, Set<String> accepted) {
    SteadyLoad load = new SteadyLoad(client, url, accepted);
    load.thread.start();
    return load;
  }

  int calls() {
    return calls.get();
  }

  List<String> failures() {
    return List.copyOf(failures);
  }

  /** Stops after the call in flight; returns the number of calls made. */
  int stop() throws InterruptedException {
    running = false;
    thread.join();
    return calls.get();
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
