package dev.inmesh.control.translate;

import dev.inmesh.Locality;
import dev.inmesh.control.config.networking.DestinationRule.Distribute;
import dev.inmesh.control.config.networking.DestinationRule.Failover;
import dev.inmesh.control.config.networking.DestinationRule.LocalityLbSetting;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Istio's locality load balancing, for the endpoints of one cluster as one client sees them: EDS
 * priorities and locality weights relative to where the client runs.
 *
 * <ul>
 *   <li>Failover (locality load balancing is on, and the cluster has outlier detection, without
 *       which Istio applies none): same region, zone and sub-zone is priority 0, same region and
 *       zone 1, same region 2, the region {@code failover} names for the client's region 3, any
 *       other 4; with {@code failoverPriority}, the number of leading labels on which an endpoint
 *       differs from the client decides alone, or, when {@code failover} is set too, comes
 *       before the locality level. Empty priorities are left out, as EDS wants them
 *       consecutive.
 *   <li>{@code distribute}: the first rule whose {@code from} matches the client sets each
 *       locality's weight to its pattern's percent, shared among the localities that pattern
 *       matches by their endpoints' weights; localities no pattern matches get no traffic.
 *   <li>Otherwise, and for a client that does not know its locality, every endpoint is at priority
 *       0 and each locality weighs the sum of its endpoints' weights.
 * </ul>
 */
final class LocalityLoadBalancing {
  private static final int SAME_SUB_ZONE = 0;
  private static final int SAME_ZONE = 1;
  private static final int SAME_REGION = 2;
  private static final int FAILOVER_REGION = 3;
  private static final int ELSEWHERE = 4;
  private static final int LOCALITY_LEVELS = 5;

  /** The endpoints of one locality at one priority, with the locality's weight. */
  record Group(Locality locality, int priority, int weight, List<MeshService.Instance> instances) {
    Group {
      instances = List.copyOf(instances);
    }
  }

  private LocalityLoadBalancing() {}

  /** Whether Envoy should weigh localities for this cluster: Istio turns it on where it applies failover or distribute. */
  static boolean weighsLocalities(Optional<LocalityLbSetting> setting, boolean outlierDetection) {
    if (setting.map(LocalityLbSetting::disabled).orElse(false)) {
      return false;
    }
    return outlierDetection || setting.map(s -> !s.distribute().isEmpty()).orElse(false);
  }

  /**
   * @param setting the cluster's localityLbSetting; absent means the mesh default, which is on
   * @param outlierDetection whether the cluster ejects endpoints: failover needs it
   */
  static List<Group> groups(Locality client, Optional<LocalityLbSetting> setting, boolean outlierDetection,
      List<MeshService.Instance> instances) {
    Map<String, List<MeshService.Instance>> byLocality = new TreeMap<>();
    Map<String, Locality> localities = new LinkedHashMap<>();
    for (MeshService.Instance instance : instances) {
      String key = instance.locality().toString();
      byLocality.computeIfAbsent(key, k -> new ArrayList<>()).add(instance);
      localities.putIfAbsent(key, instance.locality());
    }
    if (setting.map(LocalityLbSetting::disabled).orElse(false)) {
      return plain(byLocality, localities);
    }
    Optional<Distribute> distribute = setting.stream().flatMap(s -> s.distribute().stream())
        .filter(rule -> matches(client, rule.from())).findFirst();
    if (distribute.isPresent()) {
      return distributed(distribute.get(), byLocality, localities);
    }
    boolean hasDistribute = setting.map(s -> !s.distribute().isEmpty()).orElse(false);
    if (!outlierDetection || hasDistribute) {
      return plain(byLocality, localities);
    }
    List<String> labels = setting.map(LocalityLbSetting::failoverPriority).orElse(List.of());
    if (client.equals(Locality.UNKNOWN) && labels.isEmpty()) {
      return plain(byLocality, localities);
    }
    List<Failover> failover = setting.map(LocalityLbSetting::failover).orElse(List.of());
    // an endpoint's rank: label mismatches first, then its locality level
    Map<Integer, Map<String, List<MeshService.Instance>>> byRank = new TreeMap<>();
    byLocality.forEach((key, members) -> {
      // failoverPriority alone ranks by its labels only; with failover, by locality after them
      boolean ranksLocality = !client.equals(Locality.UNKNOWN) && (labels.isEmpty() || !failover.isEmpty());
      int level = ranksLocality ? level(client, localities.get(key), failover) : SAME_SUB_ZONE;
      for (MeshService.Instance instance : members) {
        int rank = labelMismatches(client, labels, instance) * LOCALITY_LEVELS + level;
        byRank.computeIfAbsent(rank, r -> new TreeMap<>()).computeIfAbsent(key, k -> new ArrayList<>()).add(instance);
      }
    });
    List<Group> groups = new ArrayList<>();
    int priority = 0;
    for (Map<String, List<MeshService.Instance>> rank : byRank.values()) {
      for (Map.Entry<String, List<MeshService.Instance>> entry : rank.entrySet()) {
        groups.add(new Group(localities.get(entry.getKey()), priority, weightOf(entry.getValue()), entry.getValue()));
      }
      priority++;
    }
    return groups;
  }

  /**
   * The groups with each locality at one priority only, its nearest, as grpc-java requires (it
   * refuses an assignment that names a locality twice); the priorities are made consecutive again.
   * Only {@code failoverPriority} on labels other than the locality's can split a locality.
   */
  static List<Group> onePriorityPerLocality(List<Group> groups) {
    Map<String, Integer> nearest = new LinkedHashMap<>();
    for (Group group : groups) {
      nearest.merge(group.locality().toString(), group.priority(), Math::min);
    }
    Map<Integer, Integer> compacted = new TreeMap<>();
    nearest.values().stream().sorted().distinct().forEach(priority -> compacted.put(priority, compacted.size()));
    Map<String, List<MeshService.Instance>> members = new LinkedHashMap<>();
    Map<String, Integer> weights = new LinkedHashMap<>();
    Map<String, Locality> localities = new LinkedHashMap<>();
    for (Group group : groups) {
      String key = group.locality().toString();
      members.computeIfAbsent(key, k -> new ArrayList<>()).addAll(group.instances());
      weights.merge(key, group.weight(), Integer::sum);
      localities.putIfAbsent(key, group.locality());
    }
    List<Group> merged = new ArrayList<>();
    members.forEach((key, instances) -> merged.add(
        new Group(localities.get(key), compacted.get(nearest.get(key)), weights.get(key), instances)));
    merged.sort(java.util.Comparator.comparingInt(Group::priority));
    return merged;
  }

  private static List<Group> plain(Map<String, List<MeshService.Instance>> byLocality, Map<String, Locality> localities) {
    List<Group> groups = new ArrayList<>();
    byLocality.forEach((key, members) -> groups.add(new Group(localities.get(key), 0, weightOf(members), members)));
    return groups;
  }

  private static List<Group> distributed(Distribute rule, Map<String, List<MeshService.Instance>> byLocality,
      Map<String, Locality> localities) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    List<String> unclaimed = new ArrayList<>(byLocality.keySet());
    rule.to().forEach((pattern, percent) -> {
      List<String> matched = unclaimed.stream().filter(key -> matches(localities.get(key), pattern)).toList();
      unclaimed.removeAll(matched);
      long total = matched.stream().mapToLong(key -> weightOf(byLocality.get(key))).sum();
      for (String key : matched) {
        weights.put(key, (int) Math.ceil((double) weightOf(byLocality.get(key)) * percent / total));
      }
    });
    // the localities no pattern claims get no traffic, as in Istio
    List<Group> groups = new ArrayList<>();
    byLocality.forEach((key, members) -> {
      if (weights.containsKey(key)) {
        groups.add(new Group(localities.get(key), 0, weights.get(key), members));
      }
    });
    return groups;
  }

  private static int level(Locality client, Locality endpoint, List<Failover> failover) {
    if (!client.region().equals(endpoint.region())) {
      boolean failoverRegion = failover.stream()
          .anyMatch(rule -> rule.from().equals(client.region()) && rule.to().equals(endpoint.region()));
      return failoverRegion ? FAILOVER_REGION : ELSEWHERE;
    }
    if (!client.zone().equals(endpoint.zone())) {
      return SAME_REGION;
    }
    return client.subZone().equals(endpoint.subZone()) ? SAME_SUB_ZONE : SAME_ZONE;
  }

  /** How many of {@code labels}, from the last one back, the endpoint does not share with the client. */
  private static int labelMismatches(Locality client, List<String> labels, MeshService.Instance instance) {
    for (int i = 0; i < labels.size(); i++) {
      String label = labels.get(i);
      int equals = label.indexOf('=');
      String key = equals >= 0 ? label.substring(0, equals) : label;
      String wanted = equals >= 0 ? label.substring(equals + 1) : topologyValue(client, key);
      String actual = topologyLabel(key) ? topologyValue(instance.locality(), key) : instance.labels().get(key);
      if (!wanted.equals(actual)) {
        return labels.size() - i;
      }
    }
    return 0;
  }

  private static boolean topologyLabel(String key) {
    return key.equals("topology.kubernetes.io/region") || key.equals("topology.kubernetes.io/zone")
        || key.equals("topology.istio.io/subzone");
  }

  private static String topologyValue(Locality locality, String key) {
    return switch (key) {
      case "topology.kubernetes.io/region" -> locality.region();
      case "topology.kubernetes.io/zone" -> locality.zone();
      case "topology.istio.io/subzone" -> locality.subZone();
      default -> "";
    };
  }

  /**
   * Istio's locality match: {@code region[/zone[/subzone]]}, where {@code *} and a part left out
   * match anything.
   */
  static boolean matches(Locality locality, String pattern) {
    String[] parts = pattern.split("/", -1);
    return part(parts, 0, locality.region()) && part(parts, 1, locality.zone()) && part(parts, 2, locality.subZone());
  }

  private static boolean part(String[] parts, int index, String value) {
    return index >= parts.length || parts[index].equals("*") || parts[index].equals(value);
  }

  private static int weightOf(List<MeshService.Instance> instances) {
    return Math.max(1, instances.stream().mapToInt(MeshService.Instance::weight).sum());
  }
}
