package dev.inmesh.control.source;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.store.ConfigStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way config changes: it validates, checks that every resource has one owner (a file of
 * the config directory, or the API), and only then writes to the store. A rejected file or
 * request changes nothing, so the last good config stays in force. It remembers the problems of
 * every source for the status API.
 */
public final class ConfigController {
  public static final String API_SOURCE = "api";
  private static final Logger log = LoggerFactory.getLogger(ConfigController.class);

  /** The last outcome for one source: a file, or the API. */
  public record SourceStatus(String source, boolean accepted, Instant at, List<Problem> problems) {
    public SourceStatus {
      problems = List.copyOf(problems);
    }
  }

  private final ConfigStore store;
  private final ConfigParser parser;
  private final Clock clock;
  private final Map<String, SourceStatus> statuses = new TreeMap<>();
  private ApiJournal journal = resources -> { };

  /**
   * Where what the API applied is kept across restarts, written before a change is in force: a
   * change that cannot be written is refused, so an answered apply is never lost.
   */
  @FunctionalInterface
  public interface ApiJournal {
    /** Stores the whole set of API-owned resources durably, or throws. */
    void save(List<ConfigResource> apiResources) throws java.io.IOException;
  }

  /**
   * What a change must pass besides validation: mesh-control's preflight, which refuses a config
   * its clients would NACK. Answers the errors that refuse it, none when it may go ahead.
   */
  @FunctionalInterface
  public interface ChangeCheck {
    List<Problem> check(List<ConfigResource> current, List<ConfigResource> candidate, List<ConfigResource> changed);
  }

  private ChangeCheck check = (current, candidate, changed) -> List.of();

  public ConfigController(ConfigStore store, ConfigParser parser, Clock clock) {
    this.store = store;
    this.parser = parser;
    this.clock = clock;
  }

  /** Writes every accepted API change to {@code journal} first, under the same lock as the change. */
  public synchronized void journalTo(ApiJournal journal) {
    this.journal = journal;
  }

  /** Runs {@code check} on every change, after validation and before the store is written. */
  public synchronized void checkChangesWith(ChangeCheck check) {
    this.check = check;
  }

  /**
   * Adds what the change's check found, less the warnings the parser already gave about the same
   * field of the same resource (or a field within it, or around it): one warning per field.
   */
  private static void addUnsaid(List<Problem> problems, List<Problem> found) {
    List<Problem> said = List.copyOf(problems);
    for (Problem problem : found) {
      boolean repeated = !problem.isError() && said.stream().anyMatch(p -> p.resource().equals(problem.resource())
          && (p.field().equals(problem.field()) || p.field().startsWith(problem.field() + ".")
              || problem.field().startsWith(p.field() + ".")));
      if (!repeated) {
        problems.add(problem);
      }
    }
  }

  /** The errors {@link #check} finds in the store with {@code upserts} written and {@code removed} gone. */
  private List<Problem> checkChange(List<ConfigResource> upserts, List<ResourceKey> removed) {
    List<ConfigResource> current = store.list();
    Map<ResourceKey, ConfigResource> candidate = new java.util.LinkedHashMap<>();
    current.forEach(r -> candidate.put(r.key(), r));
    removed.forEach(candidate::remove);
    upserts.forEach(r -> candidate.put(r.key(), r));
    return check.check(current, List.copyOf(candidate.values()), upserts);
  }

  /** Replaces everything a config file defines with what it defines now. */
  public synchronized ApplyResult applyFile(String source, String text) {
    return retryingConflicts(() -> applyFileOnce(source, text));
  }

  private ApplyResult applyFileOnce(String source, String text) {
    ParseResult parsed = parser.parse(source, text);
    List<Problem> problems = new ArrayList<>(parsed.problems());
    if (!parsed.hasErrors()) {
      problems.addAll(ownershipProblems(source, parsed.resources()));
    }
    if (problems.stream().anyMatch(Problem::isError)) {
      return reject(source, problems);
    }
    List<ResourceKey> removed = ownedBy(source).stream()
        .filter(key -> parsed.resources().stream().noneMatch(r -> r.key().equals(key)))
        .toList();
    addUnsaid(problems, checkChange(parsed.resources(), removed));
    if (problems.stream().anyMatch(Problem::isError)) {
      return reject(source, problems);
    }
    store.update(parsed.resources(), removed);
    List<ResourceKey> changed = new ArrayList<>(removed);
    parsed.resources().forEach(r -> changed.add(r.key()));
    return accept(source, changed, problems);
  }

  public synchronized void removeFile(String source) {
    List<ResourceKey> owned = retryingConflicts(() -> {
      List<ResourceKey> keys = ownedBy(source);
      if (!keys.isEmpty()) {
        store.update(List.of(), keys);
      }
      return keys;
    });
    statuses.remove(source);
    log.info("{} is gone; removed {}", source, owned);
  }

  /** The files that resources in the store come from (on a shared store, as any replica read them). */
  public synchronized Set<String> fileSources() {
    Set<String> sources = new TreeSet<>();
    store.list().stream().map(ConfigResource::source).filter(source -> !source.equals(API_SOURCE)).forEach(sources::add);
    return sources;
  }

  /** {@code POST /apis/apply}: creates or replaces the resources of one request. */
  public synchronized ApplyResult apply(String request, String text) {
    return retryingConflicts(() -> applyOnce(request, text));
  }

  private ApplyResult applyOnce(String request, String text) {
    ParseResult parsed = parser.parse(request, text);
    List<Problem> problems = new ArrayList<>(parsed.problems());
    if (!parsed.hasErrors()) {
      List<ConfigResource> owned = parsed.resources().stream()
          .map(r -> new ConfigResource(r.key(), r.apiVersion(), API_SOURCE, r.labels(), r.annotations(), r.spec(), r.yaml()))
          .toList();
      problems.addAll(ownershipProblems(API_SOURCE, owned));
      if (problems.stream().noneMatch(Problem::isError)) {
        addUnsaid(problems, checkChange(owned, List.of()));
      }
      if (problems.stream().noneMatch(Problem::isError)) {
        Map<ResourceKey, ConfigResource> next = new java.util.LinkedHashMap<>();
        apiResources().forEach(r -> next.put(r.key(), r));
        owned.forEach(r -> next.put(r.key(), r));
        Optional<Problem> unsaved = save(request, List.copyOf(next.values()));
        if (unsaved.isPresent()) {
          return unsaved(unsaved.get());
        }
        store.update(owned, List.of());
        return accept(API_SOURCE, owned.stream().map(ConfigResource::key).toList(), problems);
      }
    }
    return reject(API_SOURCE, problems);
  }

  /** Deletes resources that were applied through the API. Files own theirs: edit the file. */
  public synchronized ApplyResult delete(String request, List<ResourceKey> keys) {
    return retryingConflicts(() -> deleteOnce(request, keys));
  }

  private ApplyResult deleteOnce(String request, List<ResourceKey> keys) {
    List<Problem> problems = new ArrayList<>();
    for (ResourceKey key : keys) {
      Optional<ConfigResource> existing = store.get(key);
      if (existing.isEmpty()) {
        problems.add(new Problem(Problem.Severity.ERROR, request, key.toString(), "", "not found"));
      } else if (!existing.get().source().equals(API_SOURCE)) {
        problems.add(new Problem(Problem.Severity.ERROR, request, key.toString(), "",
            "defined in " + existing.get().source() + "; remove it from that file"));
      }
    }
    if (!problems.isEmpty()) {
      return reject(API_SOURCE, problems);
    }
    addUnsaid(problems, checkChange(List.of(), keys));
    if (!problems.isEmpty()) {
      return reject(API_SOURCE, problems);
    }
    Optional<Problem> unsaved = save(request, apiResources().stream().filter(r -> !keys.contains(r.key())).toList());
    if (unsaved.isPresent()) {
      return unsaved(unsaved.get());
    }
    store.update(List.of(), keys);
    return accept(API_SOURCE, keys, problems);
  }

  private Optional<Problem> save(String request, List<ConfigResource> apiResources) {
    try {
      journal.save(apiResources);
      return Optional.empty();
    } catch (java.io.IOException | RuntimeException e) {
      log.error("cannot persist the API's config; refusing the change", e);
      return Optional.of(new Problem(Problem.Severity.ERROR, request, "", "",
          "not applied: mesh-control cannot persist it (" + e + "); nothing changed"));
    }
  }

  /**
   * Records a source that could not be read at all (a config directory gone missing, say), or
   * clears that when {@code problem} is empty; what the source defined stays in force.
   */
  public synchronized void report(String source, Optional<String> problem) {
    if (problem.isEmpty()) {
      statuses.remove(source);
    } else {
      statuses.put(source, new SourceStatus(source, false, clock.instant(),
          List.of(new Problem(Problem.Severity.ERROR, source, "", "", problem.get()))));
    }
  }

  public synchronized List<SourceStatus> statuses() {
    return List.copyOf(statuses.values());
  }

  /** The resources that the API owns, to persist them across restarts. */
  public List<ConfigResource> apiResources() {
    return store.list().stream().filter(r -> r.source().equals(API_SOURCE)).toList();
  }

  public List<ConfigResource> resources() {
    return store.list();
  }

  /**
   * Runs a validate-then-write step again when a shared store reports that another replica
   * changed the same resources meanwhile: the ownership checks must see that change.
   */
  private static <T> T retryingConflicts(Supplier<T> step) {
    for (int attempt = 1; ; attempt++) {
      try {
        return step.get();
      } catch (ConcurrentModificationException e) {
        if (attempt == 3) {
          throw e;
        }
        log.info("{}; validating again", e.getMessage());
      }
    }
  }

  private List<Problem> ownershipProblems(String source, List<ConfigResource> resources) {
    List<Problem> problems = new ArrayList<>();
    for (ConfigResource resource : resources) {
      Optional<ConfigResource> existing = store.get(resource.key());
      if (existing.isPresent() && !existing.get().source().equals(source)) {
        String where = existing.get().source().equals(API_SOURCE) ? "through the API" : "in " + existing.get().source();
        problems.add(new Problem(Problem.Severity.ERROR, resource.source(), resource.key().toString(), "metadata.name",
            "already defined " + where + "; a resource may be defined once"));
      }
    }
    return problems;
  }

  private List<ResourceKey> ownedBy(String source) {
    return store.list().stream().filter(r -> r.source().equals(source)).map(ConfigResource::key).toList();
  }

  private ApplyResult reject(String source, List<Problem> problems) {
    statuses.put(source, new SourceStatus(source, false, clock.instant(), problems));
    problems.forEach(p -> log.warn("rejected: {}", p));
    return new ApplyResult(false, List.of(), problems);
  }

  private ApplyResult unsaved(Problem problem) {
    statuses.put(API_SOURCE, new SourceStatus(API_SOURCE, false, clock.instant(), List.of(problem)));
    return ApplyResult.unavailable(problem);
  }

  private ApplyResult accept(String source, List<ResourceKey> changed, List<Problem> problems) {
    statuses.put(source, new SourceStatus(source, true, clock.instant(), problems));
    problems.forEach(p -> log.warn("{}", p));
    log.info("applied {}: {}", source, changed);
    return new ApplyResult(true, changed, problems);
  }
}
