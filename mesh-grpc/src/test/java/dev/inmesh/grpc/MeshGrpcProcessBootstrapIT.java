package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default path, as a user deploys one workload per JVM: grpc-xds's supported, process-wide
 * bootstrap. It runs in a JVM of its own ({@link ProcessBootstrapWorkload}), because grpc-xds reads
 * that bootstrap once per process, and on a class path without mesh-grpc's test classes, so that
 * no {@code XdsBootstraps} is found: real mesh-control and CA, one Mesh with a gRPC server and
 * channels on {@code xds:///}, calls routed by xDS, and a second workload refused.
 */
class MeshGrpcProcessBootstrapIT {
  private static final long TIMEOUT_SECONDS = 240;

  @Test
  void oneWorkloadPerJvmRunsOnTheProcessBootstrapAndASecondWorkloadIsRefusedNamingBoth(@TempDir Path dir)
      throws Exception {
    Path output = dir.resolve("workload.log");
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", classPath(dir.resolve("classes")), ProcessBootstrapWorkload.class.getName())
        .redirectErrorStream(true)
        .redirectOutput(output.toFile())
        .start();
    boolean exited = process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (!exited) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String log = Files.readString(output);
    assertThat(exited).as("the workload's JVM ended within %d s; it printed:%n%s", TIMEOUT_SECONDS, log).isTrue();
    assertThat(process.exitValue()).as("the workload's exit code; it printed:%n%s", log).isZero();
    Map<String, String> report = report(log);

    assertThat(report).as("what the workload saw; it printed:%n%s", log)
        .containsEntry("bootstraps on the class path", "0")
        .containsEntry("bootstrap set before", "false")
        .containsEntry("bootstrap installed", "true")
        .containsEntry("node owner is the Mesh", "true")
        .containsEntry("answer by default", "v1")
        .containsEntry("answer for x-version v2", "v2")
        .containsEntry("answer on a second channel", "v1")
        .containsEntry("caller seen by v1", "spiffe://cluster.local/ns/default/sa/greeter")
        .containsEntry("grpc-xds nodes", "1");
    assertThat(report.get("second workload's channel")).startsWith("MeshException: ")
        .contains("ratings.default").contains("greeter.default").contains("docs/grpc.md");
    assertThat(report.get("second workload's server")).startsWith("MeshException: ")
        .contains("ratings.default").contains("greeter.default");
  }

  /**
   * This JVM's test class path without mesh-grpc's test classes (so without their
   * {@code META-INF/services} entry for {@code XdsBootstraps}), plus {@code classes} with the
   * workload's own class files copied in.
   */
  private static String classPath(Path classes) throws IOException, URISyntaxException {
    Path testClasses = Path.of(ProcessBootstrapWorkload.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    String packageDir = ProcessBootstrapWorkload.class.getPackageName().replace('.', '/');
    Files.createDirectories(classes.resolve(packageDir));
    try (Stream<Path> files = Files.list(testClasses.resolve(packageDir))) {
      for (Path file : files.filter(f -> f.getFileName().toString().startsWith(ProcessBootstrapWorkload.class.getSimpleName()))
          .toList()) {
        try (InputStream in = Files.newInputStream(file)) {
          Files.copy(in, classes.resolve(packageDir).resolve(file.getFileName()));
        }
      }
    }
    // surefire and failsafe hand the test class path over in this property (java.class.path may be a manifest jar)
    String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> entries = new ArrayList<>(List.of(full.split(File.pathSeparator)));
    entries.removeIf(String::isEmpty);
    assertThat(entries.removeIf(entry -> Path.of(entry).toAbsolutePath().normalize().equals(testClasses.normalize())))
        .as("%s is on the test class path %s", testClasses, full).isTrue();
    entries.add(0, classes.toString());
    return String.join(File.pathSeparator, entries);
  }

  private static Map<String, String> report(String log) {
    Map<String, String> report = new LinkedHashMap<>();
    log.lines().filter(line -> line.startsWith("REPORT ")).forEach(line -> {
      int colon = line.indexOf(": ");
      report.put(line.substring("REPORT ".length(), colon), line.substring(colon + 2));
    });
    return report;
  }
}
