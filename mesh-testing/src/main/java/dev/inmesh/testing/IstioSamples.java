package dev.inmesh.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;

/**
 * Istio's own YAML, kept in {@code shared/istio-samples} beside the repository (Istio's files, not
 * ours, so they are not in it): found in the working directory or any directory above it, as CI lays
 * it out, or at {@code -Dinmesh.istio.samples=DIR}.
 */
public final class IstioSamples {
  private IstioSamples() {}

  public static Optional<Path> root() {
    String override = System.getProperty("inmesh.istio.samples");
    if (override != null && Files.isDirectory(Paths.get(override))) {
      return Optional.of(Paths.get(override));
    }
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("shared").resolve("istio-samples");
      if (Files.isDirectory(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** One of the files, such as {@code istio-io-tasks/security-authz-http.yaml}, when it is there. */
  public static Optional<Path> file(String relative) {
    return root().map(dir -> dir.resolve(relative)).filter(Files::isRegularFile);
  }
}
