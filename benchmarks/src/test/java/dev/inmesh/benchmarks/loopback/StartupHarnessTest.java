package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class StartupHarnessTest {

  @Test
  void theMedianIsTheMiddleRunWhateverTheirOrder() {
    assertThat(StartupHarness.Result.median(List.of(1_900L, 1_500L, 2_400L))).isEqualTo(1_900);
    assertThat(StartupHarness.Result.median(List.of(1_700L))).isEqualTo(1_700);
  }

  @Test
  void ofAnEvenCountTheLowerOfTheMiddleTwo() {
    assertThat(StartupHarness.Result.median(List.of(2_000L, 1_600L, 1_800L, 2_200L))).isEqualTo(1_800);
  }

  @Test
  void aFailedRunOrNoneAtAllGivesNoFigure() {
    assertThat(StartupHarness.Result.median(List.of(1_600L, -1L, 1_700L))).isEqualTo(-1);
    assertThat(StartupHarness.Result.median(List.of())).isEqualTo(-1);
  }

  @Test
  void aProbeThatHangsIsKilledAndCountsAsFailed() throws Exception {
    // a server that takes the plain probe's connection and never answers: its call waits (OkHttp's
    // read timeout is 10 s), so the probe is still running when the harness's time is up
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread accepting = new Thread(() -> {
        try (Socket held = silent.accept()) {
          Thread.sleep(30_000);
        } catch (Exception e) {
          // closed by the test
        }
      });
      accepting.setDaemon(true);
      accepting.start();
      ByteArrayOutputStream printed = new ByteArrayOutputStream();

      StartupHarness.Probe probe = StartupHarness.probe(List.of(),
          List.of("--plain", "http://127.0.0.1:" + silent.getLocalPort() + "/"),
          new PrintStream(printed, true, StandardCharsets.UTF_8), Duration.ofSeconds(3));

      assertThat(probe).isEqualTo(StartupHarness.Probe.FAILED);
      assertThat(printed.toString(StandardCharsets.UTF_8)).contains("the start-up probe did not exit within 3 s and was killed");
    }
  }
}
