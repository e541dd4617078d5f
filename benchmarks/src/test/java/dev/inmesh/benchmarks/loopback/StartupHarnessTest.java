package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;

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
}
