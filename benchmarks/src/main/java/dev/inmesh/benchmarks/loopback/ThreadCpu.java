package dev.inmesh.benchmarks.loopback;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
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
    Map<String, Named> threads = new HashMap<>();
    Path tasks = Path.of("/proc/self/task");
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

  static boolean isJit(String name) {
    return name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre");
  }
}
