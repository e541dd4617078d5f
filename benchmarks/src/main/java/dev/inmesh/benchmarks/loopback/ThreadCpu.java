package dev.inmesh.benchmarks.loopback;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * This JVM's CPU by thread, from {@code /proc/self/task} (empty elsewhere). Threads are told apart
 * by id, not name: OkHttp's task runner renames its threads for every task, and a name-keyed
 * difference would count a renamed thread's whole life as the round's.
 *
 * @param threads per thread id, its name (as the kernel keeps it: 15 characters) and its CPU in ms
 */
record ThreadCpu(Map<String, Named> threads) {
  record Named(String name, long millis) {}

  static ThreadCpu now() {
    return read(Path.of("/proc/self/task"));
  }

  /** Another process's threads (a JVM the harness started). */
  static ThreadCpu of(long pid) {
    return read(Path.of("/proc/" + pid + "/task"));
  }

  private static ThreadCpu read(Path tasks) {
    Map<String, Named> threads = new HashMap<>();
    if (!Files.isDirectory(tasks)) {
      return new ThreadCpu(threads);
    }
    try (var list = Files.list(tasks)) {
      for (Path task : (Iterable<Path>) list::iterator) {
        try {
          String stat = Files.readString(task.resolve("stat"));
          threads.put(task.getFileName().toString(),
              new Named(stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')), External.statCpuMillis(stat)));
        } catch (IOException e) {
          // the thread ended while being read
        }
      }
    } catch (IOException e) {
      // no threads to read: an empty reading
    }
    return new ThreadCpu(threads);
  }

  /** The CPU of the threads whose name passes {@code which}, in ms. */
  long millis(Predicate<String> which) {
    return threads.values().stream().filter(t -> which.test(t.name())).mapToLong(Named::millis).sum();
  }

  /**
   * The CPU each group of threads used since {@code before}, in ms; {@code group} names a thread's
   * group from its name. A thread that started since counts all of its CPU.
   */
  Map<String, Long> since(ThreadCpu before, Function<String, String> group) {
    Map<String, Long> used = new TreeMap<>();
    threads.forEach((id, thread) -> {
      Named earlier = before.threads.get(id);
      long millis = thread.millis() - (earlier == null ? 0 : earlier.millis());
      used.merge(group.apply(thread.name()), millis, Long::sum);
    });
    return used;
  }

  static final String JIT = "JIT";

  /**
   * Who used the CPU, by the start of a thread's name, first match wins: the callers (the mesh
   * client, OkHttp, and OkHttp's TLS), the doors, mesh-gateway's and the forwarding fronts' workers,
   * Netty's event loops, the JDK server's dispatchers, the mesh's own threads (xDS, load reports,
   * certificates), the servers' handlers, OkHttp's task runner (its
   * connection pools' clean-up), Okio's timeout watchdog, the JIT, the GC; everything else (mesh-control,
   * gRPC) is {@code other}.
   */
  private static final List<Map.Entry<String, String>> GROUPS = List.of(
      Map.entry("load-", "callers"),
      Map.entry("inmesh-door-", "doors"),
      Map.entry("inmesh-gateway-", "gateway workers"),
      Map.entry("multiThreadIoEv", "Netty event loop"),
      Map.entry("front-worker-", "front workers"),
      Map.entry("HTTP-Dispatcher", "server dispatchers"),
      Map.entry("inmesh", "mesh threads"),
      Map.entry("handler-", "server handlers"),
      Map.entry("OkHttp", "OkHttp tasks"),
      Map.entry("Okio Watchdog", "Okio watchdog"),
      Map.entry("C1 CompilerThre", JIT),
      Map.entry("C2 CompilerThre", JIT),
      Map.entry("GC Thread", "GC"),
      Map.entry("G1 ", "GC"));

  static String group(String thread) {
    return GROUPS.stream().filter(g -> thread.startsWith(g.getKey())).map(Map.Entry::getValue).findFirst().orElse("other");
  }

  static boolean isJit(String name) {
    return group(name).equals(JIT);
  }

  /**
   * Each group's CPU per request over the measured rounds, µs, for two variants and their
   * difference ({@code a} less {@code b}).
   *
   * @param a a variant's name, its CPU in ms by group, and its requests; likewise {@code b}
   */
  static String perRequest(String a, Map<String, Long> aMillis, long aRequests, String b, Map<String, Long> bMillis,
      long bRequests) {
    StringBuilder table = new StringBuilder("CPU per request over the measured rounds, µs (threads: " + a + ", " + b
        + ", difference):");
    Set<String> groups = new TreeSet<>(aMillis.keySet());
    groups.addAll(bMillis.keySet());
    int width = Math.max(18, groups.stream().mapToInt(String::length).max().orElse(0));
    for (String group : groups) {
      double x = aMillis.getOrDefault(group, 0L) * 1000.0 / Math.max(1, aRequests);
      double y = bMillis.getOrDefault(group, 0L) * 1000.0 / Math.max(1, bRequests);
      table.append(String.format(Locale.ROOT, "%n  %-" + width + "s %6.1f %6.1f %+6.1f", group, x, y, x - y));
    }
    return table.toString();
  }
}
