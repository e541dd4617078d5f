package dev.inmesh.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ServerClientTest {
  @Test
  void aBearerTokenIsNeverSentOverPlainHttpBeyondLoopback() {
    // refused when the client is made, before any connection
    assertThatThrownBy(() -> new ServerClient("http://10.1.2.3:15014", Optional.of("inmesh-api-x"), Optional.empty()))
        .isInstanceOf(Meshctl.UsageException.class)
        .hasMessageContaining("refusing to send a bearer token over plain http to http://10.1.2.3:15014");
    assertThatThrownBy(() -> new ServerClient("http://mesh-control.example:15014", Optional.of("t"), Optional.empty()))
        .isInstanceOf(Meshctl.UsageException.class);
    new ServerClient("http://127.0.0.1:15014", Optional.of("t"), Optional.empty());
    new ServerClient("http://localhost:15014", Optional.of("t"), Optional.empty());
    new ServerClient("http://[::1]:15014", Optional.of("t"), Optional.empty());
    new ServerClient("https://mesh-control.example:15014", Optional.of("t"), Optional.empty());
    new ServerClient("http://10.1.2.3:15014", Optional.empty(), Optional.empty());
  }

  @Test
  void onlyLiteralLoopbackNamesCountAsLoopback() {
    assertThat(ServerClient.loopback("http://127.0.0.2:1")).isTrue();
    assertThat(ServerClient.loopback("http://127.example:1")).isFalse();
    assertThat(ServerClient.loopback("http://1127.0.0.1:1")).isFalse();
  }
}
