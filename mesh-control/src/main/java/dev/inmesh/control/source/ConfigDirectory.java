package dev.inmesh.control.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every {@code *.yaml} and {@code *.yml} under a directory and hands each changed file to the
 * {@link ConfigController}. It compares contents rather than timestamps, since editors and
 * {@code cp} can keep a file's mtime; a rescan is cheap for config-sized directories.
 */
public final class ConfigDirectory {
  private static final Logger log = LoggerFactory.getLogger(ConfigDirectory.class);

  private final Path root;
  private final ConfigController controller;
  private final Map<Path, String> contents = new HashMap<>();
  private final Map<Path, String> unsettled = new HashMap<>();
  /** Files rejected last time; a change elsewhere (a duplicate removed, say) may make them valid. */
  private final Set<Path> rejected = new HashSet<>();

  public ConfigDirectory(Path root, ConfigController controller) {
    this.root = root.toAbsolutePath().normalize();
    this.controller = controller;
  }

  public Path root() {
    return root;
  }

  /**
   * Applies what changed since the last scan and has read the same at two scans in a row;
   * returns whether anything was applied or removed.
   */
  public synchronized boolean scan() {
    Set<Path> present = new HashSet<>();
    boolean changed = false;
    for (Path file : yamlFiles()) {
      present.add(file);
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        log.warn("cannot read {}: {}", file, e.getMessage());
        continue;
      }
      if (text.equals(contents.get(file))) {
        continue;
      }
      // A file caught mid-write can be valid YAML and still not what the user meant: apply a
      // change only once two scans in a row read the same content.
      if (!text.equals(unsettled.put(file, text))) {
        continue;
      }
      unsettled.remove(file);
      contents.put(file, text);
      apply(file, text);
      changed = true;
    }
    unsettled.keySet().retainAll(present);
    for (Path gone : Set.copyOf(contents.keySet())) {
      if (!present.contains(gone)) {
        contents.remove(gone);
        rejected.remove(gone);
        controller.removeFile(name(gone));
        changed = true;
      }
    }
    if (changed) {
      for (Path retry : Set.copyOf(rejected)) {
        apply(retry, contents.get(retry));
      }
    }
    return changed;
  }

  private void apply(Path file, String text) {
    if (controller.applyFile(name(file), text).accepted()) {
      rejected.remove(file);
    } else {
      rejected.add(file);
    }
  }

  /** The source names of the files read so far, accepted or not. */
  public synchronized Set<String> sources() {
    Set<String> names = new HashSet<>();
    contents.keySet().forEach(file -> names.add(name(file)));
    return names;
  }

  private static boolean isHidden(Path relative) {
    for (Path part : relative) {
      if (part.toString().startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  private String name(Path file) {
    return root.relativize(file).toString();
  }

  private List<Path> yamlFiles() {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().endsWith(".yaml") || p.getFileName().toString().endsWith(".yml"))
          // hidden files and folders are skipped: a Kubernetes ConfigMap mount keeps a second
          // copy of every file under ..<timestamp>/ and links the visible names to it
          .filter(p -> !isHidden(root.relativize(p)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }
}
