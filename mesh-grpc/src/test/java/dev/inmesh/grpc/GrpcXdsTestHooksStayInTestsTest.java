package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * grpc-xds's per-channel and per-server bootstrap hooks are for tests, and grpc-java keeps no
 * promise about them: no {@code src/main} in the repository names them, test-support modules
 * included, so nothing users run depends on them. Read from the source tree of every module, so
 * that a comment or a fully qualified name counts as much as a call.
 */
class GrpcXdsTestHooksStayInTestsTest {
  private static final List<String> HOOKS = List.of("createForTest", "overrideBootstrapForTest");
  /** The repository: mesh-grpc's tests run in mesh-grpc's directory. */
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

  @Test
  void noMainSourceInTheRepositoryNamesAGrpcXdsTestHook() {
    assertThat(sources("main").filter(GrpcXdsTestHooksStayInTestsTest::namesAHook))
        .as("main sources under %s that name %s", ROOT, HOOKS)
        .isEmpty();
  }

  @Test
  void theCheckReadsEveryModuleAndSeesTheHooksInTestCode() {
    assertThat(sources("main").map(file -> ROOT.relativize(file).getName(0).toString()).distinct())
        .contains("mesh-core", "mesh-grpc", "mesh-testing", "mesh-control", "examples");
    assertThat(sources("test").filter(GrpcXdsTestHooksStayInTestsTest::namesAHook))
        .contains(ROOT.resolve("mesh-grpc/src/test/java/dev/inmesh/grpc/testing/PerMeshXdsBootstraps.java"));
  }

  /** The Java sources of {@code src/<set>/java} in every module. */
  private static Stream<Path> sources(String set) {
    try (Stream<Path> modules = Files.list(ROOT)) {
      List<Path> java = modules.map(module -> module.resolve("src").resolve(set).resolve("java"))
          .filter(Files::isDirectory)
          .flatMap(GrpcXdsTestHooksStayInTestsTest::javaFiles)
          .toList();
      assertThat(java).as("Java sources under %s/*/src/%s/java", ROOT, set).isNotEmpty();
      return java.stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Stream<Path> javaFiles(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(file -> file.toString().endsWith(".java")).toList().stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean namesAHook(Path file) {
    try {
      String text = Files.readString(file);
      return HOOKS.stream().anyMatch(text::contains);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
