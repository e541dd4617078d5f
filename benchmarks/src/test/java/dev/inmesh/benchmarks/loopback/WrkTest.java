package dev.inmesh.benchmarks.loopback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class WrkTest {
  @Test
  void requestsAndDurationAreReadFromTheSummaryLine() {
    Wrk.Result result = Wrk.parse("""
        Running 5s test @ http://127.0.0.1:8080/
          2 threads and 64 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     3.10ms    1.20ms  20.00ms   90.00%
            Req/Sec    10.40k     1.00k   12.00k    70.00%
          103500 requests in 5.00s, 124.21MB read
        Requests/sec:  20700.00
        Transfer/sec:     24.84MB
        """);

    assertThat(result.requests()).isEqualTo(103_500);
    assertThat(result.perSecond()).isEqualTo(20_700.0);
    assertThat(result.failures()).isZero();
  }

  @Test
  void socketErrorsAndNon2xxAnswersCountAsFailures() {
    Wrk.Result result = Wrk.parse("""
          5000 requests in 1.00m, 6.00MB read
          Socket errors: connect 1, read 2, write 3, timeout 4
          Non-2xx or 3xx responses: 10
        """);

    assertThat(result.seconds()).isEqualTo(60.0);
    assertThat(result.failures()).isEqualTo(20);
  }

  @Test
  void outputWithoutASummarySaysSo() {
    assertThatThrownBy(() -> Wrk.parse("unable to connect to 127.0.0.1:1 Connection refused"))
        .hasMessageContaining("requests in");
  }
}
