package dev.inmesh.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The command line's usage errors, which are reported before anything connects. */
class MainTest {
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @Test
  void aServiceWithoutPortsIsAUsageError() throws Exception {
    int status = Main.run(new String[] {"--control-servers", "127.0.0.1:1", "--service", "istio-egressgateway"},
        new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--service needs the ports it serves");
  }

  @Test
  void aServicePortWithoutALocalPortIsAUsageErrorNamingIt() throws Exception {
    int status = Main.run(new String[] {"--control-servers", "127.0.0.1:1", "--service", "istio-egressgateway",
        "--port", "443=8443", "--port", "80=0"}, new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--port 80=0");
  }
}
