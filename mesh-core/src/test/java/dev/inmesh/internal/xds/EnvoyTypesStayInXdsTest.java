package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Envoy's protobuf types are the wire format of xDS, not Inmesh's model: only the xDS package
 * names them, and everything else sees our own types. Read from the source tree, so that a fully
 * qualified name counts as much as an import.
 */
class EnvoyTypesStayInXdsTest {
  private static final Path SOURCES = Path.of("src/main/java");
  private static final Path XDS = SOURCES.resolve(AdsClient.class.getPackageName().replace('.', '/'));

  @Test
  void noMainSourceOutsideTheXdsPackageNamesAnEnvoyType() {
    assertThat(javaFiles().filter(file -> !file.startsWith(XDS)).filter(EnvoyTypesStayInXdsTest::namesEnvoy))
        .as("main sources outside %s that name io.envoyproxy", XDS)
        .isEmpty();
  }

  @Test
  void theCheckSeesTheEnvoyTypesOfTheXdsPackage() {
    assertThat(javaFiles().filter(file -> file.startsWith(XDS)).filter(EnvoyTypesStayInXdsTest::namesEnvoy))
        .contains(XDS.resolve("AdsClient.java"));
  }

  private static Stream<Path> javaFiles() {
    try (Stream<Path> files = Files.walk(SOURCES)) {
      List<Path> java = files.filter(file -> file.toString().endsWith(".java")).toList();
      assertThat(java).as("Java sources under %s", SOURCES.toAbsolutePath()).isNotEmpty();
      return java.stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean namesEnvoy(Path file) {
    try {
      return Files.readString(file).contains("io.envoyproxy");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
