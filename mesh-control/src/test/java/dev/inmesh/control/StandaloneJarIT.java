package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shaded jar that users run: the server logs its ports, and validate exits as istioctl does. */
class StandaloneJarIT {
  private static final Path JAR = Path.of("target", "mesh-control.jar");
  private static final Pattern LISTENING = Pattern.compile("xDS \\(ADS\\) on 127\\.0\\.0\\.1:(\\d+) \\(mutual TLS\\), HTTP API on http://127\\.0\\.0\\.1:(\\d+)");

  @TempDir
  Path dir;

  @Test
  void serverStartedOnPortZeroLogsTheFreePortsItPicked() throws Exception {
    Files.writeString(dir.resolve("vs.yaml"), GrpcXdsRoutingIT.split(50, 50));
    Path credential = dir.resolve("operator").resolve("credential");
    Process process = new ProcessBuilder(java(), "-jar", JAR.toString(), "--config-dir", dir.toString(),
        "--xds-port", "0", "--http-port", "0", "--ca-grpc-port", "0", "--ca-https-port", "0",
        "--admin-credential", credential.toString())
        .redirectErrorStream(true)
        .start();
    try (BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      Matcher ports = null;
      List<String> seen = new ArrayList<>();
      for (String line = output.readLine(); line != null && seen.size() < 200; line = output.readLine()) {
        seen.add(line);
        Matcher matcher = LISTENING.matcher(line);
        if (matcher.find()) {
          ports = matcher;
          break;
        }
      }
      assertThat(ports).as("a 'listening' line in %s", seen).isNotNull();
      int http = Integer.parseInt(ports.group(2));
      assertThat(Integer.parseInt(ports.group(1))).isPositive();
      AdminClient anonymous = new AdminClient(http, java.util.Optional.empty());
      MeshFixture.await(() -> anonymous.get("/readyz").status() == 200, java.time.Duration.ofSeconds(10), "readiness");
      assertThat(anonymous.get("/apis/resources").status()).isEqualTo(401);
      // the admin credential mesh-control made, as meshctl reads it: the server's URL and a token, for its owner only
      var written = dev.inmesh.control.api.OperatorCredential.read(credential);
      assertThat(written.server()).isEqualTo("http://127.0.0.1:" + http);
      assertThat(Files.getPosixFilePermissions(credential))
          .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
              java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
      AdminClient admin = new AdminClient(http, java.util.Optional.of(written.token()));
      assertThat(admin.get("/apis/resources").body().findValuesAsText("name")).containsExactly("greeter");
    } finally {
      process.destroy();
      assertThat(process.waitFor(10, TimeUnit.SECONDS)).as("the server stops on SIGTERM").isTrue();
    }
  }

  @Test
  void validateExitsZeroForValidFilesAndOneWithALinePerError() throws Exception {
    Path good = dir.resolve("good.yaml");
    Files.writeString(good, GrpcXdsRoutingIT.split(80, 20));
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, GrpcXdsRoutingIT.split(80, -20).replace("  - route:\n", "  - retires: {}\n    route:\n"));

    Result valid = run("validate", "-f", good.toString());
    assertThat(valid.exit()).isZero();
    assertThat(valid.output()).contains("valid: 1 resource(s)");

    Result invalid = run("validate", "-f", good.toString(), "-f", bad.toString());
    assertThat(invalid.exit()).isEqualTo(1);
    assertThat(invalid.output()).contains(bad + ": VirtualService/default/greeter: spec.http[0].route[1].weight: weight must not be negative, got -20");
    assertThat(invalid.output().lines().filter(l -> l.startsWith(bad.toString()))).hasSize(2);

    assertThat(run("validate").exit()).isEqualTo(2);
  }

  record Result(int exit, String output) {}

  private static Result run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(java(), "-jar", JAR.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Result(process.exitValue(), output);
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
