package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExternalTest {
  @Test
  void theResidentSetIsReadFromItsStatusLine() {
    String status = """
        Name:\thaproxy
        VmPeak:\t  120344 kB
        VmSize:\t  118200 kB
        VmHWM:\t   14000 kB
        VmRSS:\t   12876 kB
        RssAnon:\t    4100 kB
        """;

    assertThat(External.statusRssKilobytes(status)).isEqualTo(12_876);
  }

  @Test
  void aStatusWithoutOneSaysSo() {
    assertThatThrownBy(() -> External.statusRssKilobytes("Name:\tzombie\nState:\tZ (zombie)\n"))
        .hasMessageContaining("VmRSS");
  }

  @Test
  void cpuIsUserPlusSystemTicksAfterTheCommand() {
    // the command may hold spaces and parentheses; the fields count from the last ')'
    String stat = "4242 (haproxy (x) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 37 5 0 0 20 0 1 0 100 0 0";

    assertThat(External.statCpuMillis(stat)).isEqualTo(420);
  }
}
