package dev.inmesh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.commons.internal.NettyJfr;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Netty reads its JFR switch once per JVM, when it first loads, so each case runs in a new JVM
 * ({@link App}): a JVM whose Netty another test has already loaded would prove nothing.
 */
class NettyJfrTest {

  @Test
  void aMeshTurnsNettysJfrEventsOffBeforeItsChannelsLoadNetty() throws Exception {
    assertThat(run(List.of(), "mesh")).isEqualTo("netty jfr false");
  }

  @Test
  void withoutAMeshNettyRegistersItsJfrEvents() throws Exception {
    // what the switch saves a start: without it, this JVM's Netty registers its events
    assertThat(run(List.of(), "netty")).isEqualTo("netty jfr true");
  }

  @Test
  void anApplicationThatSetTheSwitchKeepsItsChoice() throws Exception {
    assertThat(run(List.of("-D" + NettyJfr.ENABLED + "=true"), "mesh")).isEqualTo("netty jfr true");
  }

  private static String run(List<String> flags, String what) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(flags);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), App.class.getName(), what));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(output).isTrue();
    return output.lines().filter(line -> line.startsWith("netty jfr ")).findFirst().orElse(output);
  }

  /** {@code mesh}: builds a Mesh (its ADS channel loads Netty) and reports; {@code netty}: reports at once. */
  static final class App {
    public static void main(String[] args) {
      if (args[0].equals("mesh")) {
        // nothing listens on port 1: the stream keeps retrying, which is all this needs
        try (Mesh mesh = Mesh.builder().controlServers("127.0.0.1:1").build()) {
          System.out.println("netty jfr " + io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent.isJfrEnabled());
        }
      } else {
        System.out.println("netty jfr " + io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent.isJfrEnabled());
      }
      System.exit(0);
    }
  }
}
