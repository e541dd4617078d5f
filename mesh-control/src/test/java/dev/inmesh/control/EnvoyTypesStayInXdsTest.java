package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.translate.XdsTranslator;
import dev.inmesh.control.xds.XdsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Envoy's protobuf types are what mesh-control translates into and serves, not its model: only
 * the translate and xds packages name them; config, registry, store, api and the rest work with
 * our own types. Read from the source tree, so that a fully qualified name counts as much as an
 * import.
 */
class EnvoyTypesStayInXdsTest {
  private static final Path SOURCES = Path.of("src/main/java");
  private static final List<Path> ALLOWED = Stream.of(XdsTranslator.class, XdsServer.class)
      .map(type -> SOURCES.resolve(type.getPackageName().replace('.', '/')))
      .toList();

  @Test
  void noMainSourceOutsideTranslateAndXdsNamesAnEnvoyType() {
    assertThat(javaFiles().filter(file -> !allowed(file)).filter(EnvoyTypesStayInXdsTest::namesEnvoy))
        .as("main sources outside %s that name io.envoyproxy", ALLOWED)
        .isEmpty();
  }

  @Test
  void theCheckSeesTheEnvoyTypesOfTranslateAndXds() {
    assertThat(javaFiles().filter(EnvoyTypesStayInXdsTest::allowed).filter(EnvoyTypesStayInXdsTest::namesEnvoy))
        .contains(ALLOWED.get(0).resolve("XdsTranslator.java"), ALLOWED.get(1).resolve("XdsServer.java"));
  }

  private static boolean allowed(Path file) {
    return ALLOWED.stream().anyMatch(file::startsWith);
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
