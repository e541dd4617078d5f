package dev.inmesh.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Headless Chromium for tests of pages: the DOM after the page's scripts ran, and screenshots.
 * {@code .ci/run} installs Debian's chromium; {@link #find()} is empty on a machine without one.
 */
public final class Chromium {
  private final String binary;

  private Chromium(String binary) {
    this.binary = binary;
  }

  public static Optional<Chromium> find() {
    for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
      if (new File(candidate).canExecute()) {
        return Optional.of(new Chromium(candidate));
      }
    }
    return Optional.empty();
  }

  /** The page's DOM once its scripts have run (six seconds of virtual time), at {@code width}×{@code height}. */
  public String dumpDom(String url, int width, int height) throws IOException {
    return run("--dump-dom", "--window-size=" + width + "," + height, url);
  }

  /** A screenshot of the window ({@code width}×{@code height}) into {@code png}. */
  public void screenshot(String url, Path png, int width, int height) throws IOException {
    run("--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height, url);
  }

  private String run(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(binary, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--virtual-time-budget=6000"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException("chromium did not finish within 60 s: " + command);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while chromium ran", e);
    }
    return out;
  }
}
