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
import java.util.Optional;
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
  /** Sources (file names) missing at the last scan: removed if still missing at this one. */
  private final Set<String> missing = new HashSet<>();
  /** Sources the store holds from this directory that this instance has not read (yet). */
  private final Set<String> adopted = new HashSet<>();
  private Optional<String> problem = Optional.empty();
  private Set<Path> lastPresent = Set.of();
  private boolean everRead;

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
   *
   * <p>Removals are as careful: a file is removed once it is missing at two scans in a row, and a
   * directory that is missing or holds no YAML file at all removes nothing. That is how a deploy
   * that swaps the directory ({@code rm -rf && cp -r}) or a remount looks for a moment, not an
   * intent to drop every policy. To remove the last file's resources, leave a YAML file in place
   * (an empty one will do).
   */
  public synchronized boolean scan() {
    List<Path> files = Files.isDirectory(root) ? yamlFiles() : List.of();
    Optional<String> unusable = unusable(files);
    if (unusable.isPresent()) {
      missing.clear();
      if (!unusable.equals(problem)) {
        log.error("{}; keeping the {} files in force as they were", unusable.get(), contents.size() + adopted.size());
      }
      problem = unusable;
      controller.report(root.toString(), unusable);
      return false;
    }
    if (problem.isPresent()) {
      log.info("{} is readable again", root);
      problem = Optional.empty();
      controller.report(root.toString(), problem);
    }
    Set<Path> present = new HashSet<>();
    boolean changed = false;
    for (Path file : files) {
      present.add(file);
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        log.warn("cannot read {}: {}", file, e.getMessage());
        continue;
      }
      adopted.remove(name(file));
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
    // files still arriving (a copy under way): no scan counts toward a removal until the set holds still
    boolean arriving = !lastPresent.containsAll(present);
    lastPresent = present;
    Set<String> missingNow = new HashSet<>(adopted);
    contents.keySet().stream().filter(file -> !present.contains(file)).map(this::name).forEach(missingNow::add);
    if (arriving) {
      missingNow.clear();
    }
    for (String gone : missingNow) {
      if (missing.contains(gone)) {
        Path file = root.resolve(gone);
        contents.remove(file);
        rejected.remove(file);
        adopted.remove(gone);
        controller.removeFile(gone);
        changed = true;
      }
    }
    missing.clear();
    missingNow.stream().filter(name -> adopted.contains(name) || contents.containsKey(root.resolve(name))).forEach(missing::add);
    if (changed) {
      for (Path retry : Set.copyOf(rejected)) {
        apply(retry, contents.get(retry));
      }
    }
    // read once every file found has been applied (or refused) as it reads now
    everRead |= unsettled.isEmpty();
    return changed;
  }

  /**
   * Takes on sources that a shared store holds from files of this directory, read by this or
   * another replica before: the scans remove those whose files are missing, by the same rules as
   * files this instance has read.
   */
  public synchronized void adopt(Set<String> sources) {
    sources.stream().filter(source -> !contents.containsKey(root.resolve(source))).forEach(adopted::add);
  }

  /**
   * Why this directory has never been read, if it has not: one missing at start (not mounted yet,
   * not yet filled by a sidecar) holds policies nobody has seen, and serving without them would
   * fail open.
   */
  public synchronized Optional<String> unread() {
    return everRead ? Optional.empty() : problem.or(() -> Optional.of("config directory " + root + " not read yet"));
  }

  /** Why the directory can't be read as the whole config now, if it can't. */
  private Optional<String> unusable(List<Path> files) {
    if (!Files.isDirectory(root)) {
      return Optional.of("config directory " + root + " is " + (Files.exists(root) ? "not a directory" : "missing"));
    }
    if ((!contents.isEmpty() || !adopted.isEmpty()) && files.isEmpty()) {
      return Optional.of("config directory " + root + " has no YAML file left; an empty directory is taken for one"
          + " being replaced, not for an intent to remove all config (to remove it all, leave an empty .yaml file)");
    }
    return Optional.empty();
  }

  private void apply(Path file, String text) {
    if (controller.applyFile(name(file), text).accepted()) {
      rejected.remove(file);
    } else {
      rejected.add(file);
    }
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
