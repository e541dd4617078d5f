package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
  @Test
  void aThreadThatRenamedItselfIsCountedOnceUnderItsNewName() {
    ThreadCpu before = new ThreadCpu(Map.of(
        "11", new ThreadCpu.Named("OkHttp TaskRunn", 900),
        "12", new ThreadCpu.Named("inmesh-door-1-1", 100)));
    ThreadCpu after = new ThreadCpu(Map.of(
        "11", new ThreadCpu.Named("OkHttp Connecti", 930),
        "12", new ThreadCpu.Named("inmesh-door-1-1", 160),
        "13", new ThreadCpu.Named("inmesh-door-1-2", 20)));

    Map<String, Long> used = after.since(before, name -> name.startsWith("OkHttp") ? "okhttp" : "doors");

    // 30 ms for the renamed thread, not its 930; the new door thread counts all of its 20
    assertThat(used).containsExactlyInAnyOrderEntriesOf(Map.of("okhttp", 30L, "doors", 80L));
  }

  @Test
  void jitThreadsAreSummedByName() {
    ThreadCpu now = new ThreadCpu(Map.of(
        "1", new ThreadCpu.Named("C2 CompilerThre", 700),
        "2", new ThreadCpu.Named("C1 CompilerThre", 200),
        "3", new ThreadCpu.Named("main", 5000)));

    assertThat(now.millis(ThreadCpu::isJit)).isEqualTo(900);
  }

  @Test
  void thisJvmsOwnThreadsAreReadOnLinux() {
    ThreadCpu now = ThreadCpu.now();
    if (new java.io.File("/proc/self/task").isDirectory()) {
      assertThat(now.threads()).isNotEmpty();
      assertThat(now.threads().values()).anySatisfy(t -> assertThat(t.name()).isNotBlank());
    } else {
      assertThat(now.threads()).isEmpty();
    }
  }

  @Test
  void threadsAreGroupedByWhatTheyDo() {
    assertThat(ThreadCpu.group("load-12")).isEqualTo("callers");
    assertThat(ThreadCpu.group("inmesh-door-412")).isEqualTo("doors");
    assertThat(ThreadCpu.group("inmesh-xds")).isEqualTo("mesh threads");
    assertThat(ThreadCpu.group("handler-echo-3")).isEqualTo("server handlers");
    assertThat(ThreadCpu.group("OkHttp TaskRunn")).isEqualTo("OkHttp tasks");
    assertThat(ThreadCpu.group("C2 CompilerThre")).isEqualTo(ThreadCpu.JIT);
    assertThat(ThreadCpu.group("G1 Conc#0")).isEqualTo("GC");
    assertThat(ThreadCpu.group("grpc-default-ex")).isEqualTo("other");
  }

  @Test
  void theTableGivesEachGroupsCpuPerRequestAndTheDifference() {
    String table = ThreadCpu.perRequest("inmesh", Map.of("callers", 300L, "GC", 10L), 1000, "plain", Map.of("callers", 500L), 2000);

    // 300 ms over 1,000 requests is 300 µs each; 500 ms over 2,000 is 250 µs; a group one side lacks counts 0
    assertThat(table).startsWith("CPU per request over the measured rounds, µs (threads: inmesh, plain, difference):")
        .contains("  callers             300.0  250.0  +50.0")
        .contains("  GC                   10.0    0.0  +10.0");
    assertThat(ThreadCpu.perRequest("a", Map.of("nginx and HAProxy (processes)", 10L, "GC", 10L), 10, "b", Map.of(), 10))
        .as("a long group's name widens the column").contains("  GC                            1000.0    0.0 +1000.0")
        .contains("  nginx and HAProxy (processes) 1000.0    0.0 +1000.0");
  }
}
