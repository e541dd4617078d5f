package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CA is its own jar: its main code names Inmesh types only from itself and from mesh-commons,
 * never the data plane (the tests' classpath has mesh-core through mesh-testing, so compiling
 * alone would not show it).
 */
class CaStandsAloneTest {
  private static final Path SOURCES = Path.of("src/main/java");
  private static final Pattern INMESH_TYPE = Pattern.compile("\\bdev\\.inmesh\\.[a-z.]*[A-Z]\\w*");
  private static final List<String> ALLOWED = List.of("dev.inmesh.ca.", "dev.inmesh.identity.", "dev.inmesh.commons.");

  @Test
  void mainCodeNamesNoDataPlaneType() {
    List<String> named = javaFiles().flatMap(CaStandsAloneTest::inmeshTypes).distinct().toList();

    assertThat(named).as("the check reads the sources").contains("dev.inmesh.identity.SpiffeId");
    assertThat(named).allMatch(type -> ALLOWED.stream().anyMatch(type::startsWith));
  }

  private static Stream<String> inmeshTypes(Path file) {
    try {
      Matcher matcher = INMESH_TYPE.matcher(Files.readString(file));
      return matcher.results().map(result -> result.group()).toList().stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Stream<Path> javaFiles() {
    try (Stream<Path> files = Files.walk(SOURCES)) {
      return files.filter(file -> file.toString().endsWith(".java")).toList().stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
