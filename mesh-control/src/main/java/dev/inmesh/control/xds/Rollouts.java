package dev.inmesh.control.xds;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Follows config changes to the clients ({@link Rollout}). A change is numbered when it is made
 * ({@link #begin}), with what every profile was served just before it; the first translation that
 * read the config after that number marks it {@link #built} with what it published and who was
 * connected. Versions are content hashes and say nothing of order, so every publication of a
 * profile is counted: a client that ACKs a version published after the change's translation holds
 * the change too (or what replaced it), and is done with it.
 *
 * <p>Bounded: the last {@link #KEPT} changes, and per profile and type the last
 * {@link #VERSIONS_KEPT} versions published.
 */
final class Rollouts {
  static final int KEPT = 64;
  static final int VERSIONS_KEPT = 64;

  private final Clock clock;
  private long generation;
  private long sequence;
  /** Profile → type → version → the publication it was last served from. */
  private final Map<String, Map<String, LinkedHashMap<String, Long>>> published = new HashMap<>();
  private final Map<String, Map<String, String>> current = new HashMap<>();
  private final NavigableMap<Long, Tracked> tracked = new TreeMap<>();

  private static final class Tracked {
    final long generation;
    final Instant appliedAt;
    final Map<String, Map<String, String>> before;
    Instant builtAt;
    long sequence;
    Map<String, Map<String, String>> target;
    /** Stream id → profile, of the clients connected when the change was published. */
    Map<Long, String> members;

    Tracked(long generation, Instant appliedAt, Map<String, Map<String, String>> before) {
      this.generation = generation;
      this.appliedAt = appliedAt;
      this.before = before;
    }
  }

  Rollouts(Clock clock) {
    this.clock = clock;
  }

  /** A profile's snapshot changed; {@code versions} is what it serves now, per type. */
  synchronized void published(String profile, Map<String, String> versions) {
    sequence++;
    current.put(profile, Map.copyOf(versions));
    Map<String, LinkedHashMap<String, Long>> types = published.computeIfAbsent(profile, p -> new HashMap<>());
    versions.forEach((type, version) -> {
      LinkedHashMap<String, Long> seen = types.computeIfAbsent(type, t -> new LinkedHashMap<>());
      seen.remove(version);
      seen.put(version, sequence);
      for (Iterator<String> oldest = seen.keySet().iterator(); seen.size() > VERSIONS_KEPT; ) {
        oldest.next();
        oldest.remove();
      }
    });
  }

  /** A profile is no longer served; its clients have all gone. */
  synchronized void dropped(String profile) {
    published.remove(profile);
    current.remove(profile);
  }

  synchronized Rollout.Baseline baseline() {
    return new Rollout.Baseline(current);
  }

  /** Numbers a change made after {@code before} was taken. */
  synchronized long begin(Rollout.Baseline before) {
    generation++;
    tracked.put(generation, new Tracked(generation, clock.instant(), before.versions()));
    while (tracked.size() > KEPT) {
      tracked.pollFirstEntry();
    }
    return generation;
  }

  /** The newest change numbered; a translation that reads this before the config holds it. */
  synchronized long generation() {
    return generation;
  }

  /**
   * A translation that read the config after change {@code upTo} was numbered has published: it
   * holds that change and every earlier one not yet marked.
   *
   * @param streams stream id → profile of every client connected now
   */
  synchronized void built(long upTo, Map<Long, String> streams) {
    Instant now = clock.instant();
    for (Tracked change : tracked.headMap(upTo, true).values()) {
      if (change.builtAt == null) {
        change.builtAt = now;
        change.sequence = sequence;
        change.target = copy(current);
        change.members = Map.copyOf(streams);
      }
    }
  }

  synchronized Optional<Rollout> rollout(long generation, List<ClientStatus> clients) {
    Tracked change = tracked.get(generation);
    return change == null ? Optional.empty() : Optional.of(status(change, clients));
  }

  synchronized Optional<Rollout> latest(List<ClientStatus> clients) {
    return tracked.isEmpty() ? Optional.empty() : Optional.of(status(tracked.lastEntry().getValue(), clients));
  }

  /** The oldest change still remembered, for the error that names one forgotten. */
  synchronized Optional<Long> oldest() {
    return tracked.isEmpty() ? Optional.empty() : Optional.of(tracked.firstKey());
  }

  private Rollout status(Tracked change, List<ClientStatus> clients) {
    if (change.builtAt == null) {
      return new Rollout(change.generation, change.appliedAt, Optional.empty(), List.of(), 0, 0);
    }
    Map<Long, ClientStatus> connected = clients.stream()
        .collect(Collectors.toMap(ClientStatus::streamId, Function.identity(), (a, b) -> a));
    List<Rollout.Client> affected = new ArrayList<>();
    int unaffected = 0;
    int disconnected = 0;
    for (Map.Entry<Long, String> member : new TreeMap<>(change.members).entrySet()) {
      ClientStatus client = connected.get(member.getKey());
      String profile = member.getValue();
      Map<String, String> before = change.before.getOrDefault(profile, Map.of());
      Map<String, String> types = new TreeMap<>();
      change.target.getOrDefault(profile, Map.of()).forEach((type, version) -> {
        // a type the client never asked for reaches it in the first response when it does
        if (!version.equals(before.get(type)) && (client == null || client.types().containsKey(type))) {
          types.put(type, version);
        }
      });
      if (types.isEmpty()) {
        unaffected += client == null ? 0 : 1;
        continue;
      }
      if (client == null) {
        disconnected++;
        continue;
      }
      affected.add(answer(change, client, profile, types));
    }
    affected.sort(java.util.Comparator.comparing((Rollout.Client c) -> c.status().nodeId())
        .thenComparingLong(c -> c.status().streamId()));
    return new Rollout(change.generation, change.appliedAt, Optional.of(change.builtAt), affected, unaffected, disconnected);
  }

  private Rollout.Client answer(Tracked change, ClientStatus client, String profile, Map<String, String> types) {
    Rollout.State state = Rollout.State.ACKED;
    Map<String, String> nacks = new TreeMap<>();
    for (Map.Entry<String, String> type : types.entrySet()) {
      ClientStatus.TypeStatus held = client.types().get(type.getKey());
      if (holds(change, profile, type.getKey(), held.ackedVersion(), type.getValue())) {
        continue;
      }
      Optional<ClientStatus.Nack> nack = held.lastNack();
      if (nack.isPresent() && holds(change, profile, type.getKey(), nack.get().version(), type.getValue())) {
        nacks.put(type.getKey(), nack.get().message());
        state = Rollout.State.NACKED;
      } else if (state == Rollout.State.ACKED) {
        state = Rollout.State.PENDING;
      }
    }
    return new Rollout.Client(client, state, types, nacks);
  }

  /** Whether {@code version} is the change's own or one published after it. */
  private boolean holds(Tracked change, String profile, String type, String version, String target) {
    if (version.isEmpty()) {
      return false;
    }
    if (version.equals(target)) {
      return true;
    }
    Long at = published.getOrDefault(profile, Map.of()).getOrDefault(type, new LinkedHashMap<>()).get(version);
    return at != null && at > change.sequence;
  }

  static Map<String, Map<String, String>> copy(Map<String, Map<String, String>> versions) {
    Map<String, Map<String, String>> copy = new LinkedHashMap<>();
    versions.forEach((profile, types) -> copy.put(profile, Map.copyOf(types)));
    return java.util.Collections.unmodifiableMap(copy);
  }
}
