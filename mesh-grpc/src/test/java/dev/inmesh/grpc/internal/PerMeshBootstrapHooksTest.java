package dev.inmesh.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * grpc-xds's "for test" bootstrap hooks carry no compatibility promise: main code reaches them
 * only through {@link PerMeshBootstrapHooks}, so that one class is all there is to change if they go.
 */
class PerMeshBootstrapHooksTest {
  private static final Path SOURCES = Path.of("src/main/java");
  private static final List<String> HOOKS = List.of("createForTest", "overrideBootstrapForTest");

  @Test
  void onlyPerMeshBootstrapHooksCallsGrpcXdsTestHooks() {
    assertThat(filesNaming(HOOKS)).containsExactly(
        SOURCES.resolve(PerMeshBootstrapHooks.class.getName().replace('.', '/') + ".java"));
  }

  private static List<Path> filesNaming(List<String> names) {
    try (Stream<Path> files = Files.walk(SOURCES)) {
      return files.filter(file -> file.toString().endsWith(".java")).filter(file -> {
        try {
          String text = Files.readString(file);
          return names.stream().anyMatch(text::contains);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
