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
}
