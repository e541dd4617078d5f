package dev.inmesh.internal.balancing;

import dev.inmesh.Locality;
import dev.inmesh.internal.model.Endpoint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A cluster's endpoints as EDS places them: priority levels (0 first), and within a level the
 * localities with their weights. The control plane decides the levels relative to this client
 * (Istio's locality failover puts the client's own zone at 0); the client only follows them.
 *
 * @param levels the non-empty levels, lowest priority number first
 */
public record LocalityPriorities(List<Level> levels) {
  /**
   * The endpoints of one priority.
   *
   * @param endpoints every endpoint of the level, in their EDS order
   * @param localities the level's endpoints by locality, in order of first appearance
   * @param localityWeights each locality's EDS weight; all 0 when EDS gave none, and then the level
   *     is balanced over its endpoints without regard to locality
   */
  public record Level(List<Endpoint> endpoints, List<List<Endpoint>> localities, List<Integer> localityWeights) {
    public Level {
      endpoints = List.copyOf(endpoints);
      localities = localities.stream().map(List::copyOf).toList();
      localityWeights = List.copyOf(localityWeights);
      if (endpoints.isEmpty()) {
        throw new IllegalArgumentException("a priority level must not be empty");
      }
      if (localities.size() != localityWeights.size()) {
        throw new IllegalArgumentException("one weight per locality, got " + localityWeights + " for " + localities);
      }
    }

    /** Whether picks here choose a locality by weight first: there are several and each has a weight. */
    public boolean weighsLocalities() {
      return localities.size() > 1 && localityWeights.stream().allMatch(w -> w > 0);
    }
  }

  public LocalityPriorities {
    levels = List.copyOf(levels);
  }

  public static LocalityPriorities of(List<Endpoint> endpoints) {
    Map<Integer, Map<Locality, List<Endpoint>>> byPriority = new TreeMap<>();
    Map<Integer, Map<Locality, Integer>> weights = new TreeMap<>();
    for (Endpoint endpoint : endpoints) {
      byPriority.computeIfAbsent(endpoint.priority(), p -> new LinkedHashMap<>())
          .computeIfAbsent(endpoint.locality(), l -> new ArrayList<>()).add(endpoint);
      weights.computeIfAbsent(endpoint.priority(), p -> new LinkedHashMap<>())
          .merge(endpoint.locality(), endpoint.localityWeight(), Math::max);
    }
    List<Level> levels = new ArrayList<>();
    byPriority.forEach((priority, localities) -> {
      List<Endpoint> all = localities.values().stream().flatMap(List::stream).toList();
      levels.add(new Level(all, List.copyOf(localities.values()),
          localities.keySet().stream().map(weights.get(priority)::get).toList()));
    });
    return new LocalityPriorities(levels);
  }
}
