package dev.inmesh.benchmarks.loopback;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/** The two load shapes: a fixed request rate (open loop) and N callers as fast as they can (closed loop). */
final class Load {
  private Load() {}

  /** Daemon threads named {@code prefix-1}, {@code prefix-2} …, so that {@link ThreadCpu#group} can tell them apart. */
  static ThreadFactory named(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** The open loop's workers: its callers, as {@link ThreadCpu#group} counts them. */
  static ExecutorService workers() {
    return Executors.newFixedThreadPool(64, named("load"));
  }

  /** One request, its response read to the end; throws when it failed. */
  @FunctionalInterface
  interface Call {
    void run() throws Exception;
  }

  /** What an open-loop run saw: latencies in nanoseconds from each request's intended start, and failures. */
  record Run(Histogram latencies, long failures, long requests) {}

  /**
   * Sends {@code rate} requests per second for {@code duration}, each at its scheduled time
   * whether or not earlier ones have answered, and measures each from that time, so a stall is
   * not hidden by the requests it delayed (no coordinated omission).
   */
  static Run openLoop(Call call, int rate, Duration duration, ExecutorService workers) throws InterruptedException {
    return openLoop(List.of(call), rate, duration, workers).get(0);
  }

  /**
   * The open loop over several calls taking turns: request {@code i} is {@code calls[i % n]}, so
   * every call sees the same moments of the run (a paired comparison) and each runs at
   * {@code rate / n} per second. Returns one {@link Run} per call, in order.
   */
  static List<Run> openLoop(List<Call> calls, int rate, Duration duration, ExecutorService workers)
      throws InterruptedException {
    int n = calls.size();
    List<Histogram> latencies = new ArrayList<>();
    List<AtomicLong> failures = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      latencies.add(new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(30), 3));
      failures.add(new AtomicLong());
    }
    long requests = rate * duration.toSeconds();
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    CountDownLatch done = new CountDownLatch((int) requests);
    long start = System.nanoTime();
    for (long i = 0; i < requests; i++) {
      long intended = start + i * interval;
      for (long wait = intended - System.nanoTime(); wait > 0; wait = intended - System.nanoTime()) {
        LockSupport.parkNanos(wait);
      }
      int c = (int) (i % n);
      Call call = calls.get(c);
      workers.execute(() -> {
        try {
          call.run();
          latencies.get(c).recordValue(System.nanoTime() - intended);
        } catch (Exception e) {
          failures.get(c).incrementAndGet();
        } finally {
          done.countDown();
        }
      });
    }
    done.await();
    List<Run> runs = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      runs.add(new Run(latencies.get(c), failures.get(c).get(), (requests - c + n - 1) / n));
    }
    return runs;
  }

  /** {@code callers} threads calling back to back for {@code duration}; returns the requests per second answered. */
  static double closedLoop(Call call, int callers, Duration duration) throws InterruptedException {
    AtomicLong answered = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long end = System.nanoTime() + duration.toNanos();
    Thread[] threads = new Thread[callers];
    for (int i = 0; i < callers; i++) {
      threads[i] = new Thread(() -> {
        while (System.nanoTime() < end) {
          try {
            call.run();
            answered.incrementAndGet();
          } catch (Exception e) {
            failed.incrementAndGet();
          }
        }
      }, "caller-" + i);
      threads[i].start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " of " + (failed.get() + answered.get()) + " calls failed");
    }
    return answered.get() / (duration.toNanos() / 1e9);
  }
}
