package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** openssl as an outside TLS client: what a server's certificate says, as anyone who connects sees it. */
final class OpensslClient {
  private OpensslClient() {}

  /** The subjectAltName lines of the certificate that {@code hostPort} serves; {@code extra} goes to s_client. */
  static String subjectAltNames(String hostPort, String... extra) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", hostPort));
    command.addAll(List.of(extra));
    Process connect = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    connect.getOutputStream().close();
    byte[] handshake = connect.getInputStream().readAllBytes();
    assertThat(connect.waitFor(20, TimeUnit.SECONDS)).isTrue();
    Process x509 = new ProcessBuilder("openssl", "x509", "-noout", "-ext", "subjectAltName")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    x509.getOutputStream().write(handshake);
    x509.getOutputStream().close();
    String names = new String(x509.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(x509.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return names;
  }
}
