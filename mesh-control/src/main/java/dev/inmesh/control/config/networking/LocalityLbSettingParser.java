package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.networking.DestinationRule.Distribute;
import dev.inmesh.control.config.networking.DestinationRule.Failover;
import dev.inmesh.control.config.networking.DestinationRule.LocalityLbSetting;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Reads a DestinationRule's {@code loadBalancer.localityLbSetting} with the rules of Istio's validation. */
final class LocalityLbSettingParser {
  /** The labels whose values come from a workload's locality, as Istio sets them on every proxy and endpoint. */
  static final Set<String> TOPOLOGY_LABELS = Set.of(
      "topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone");

  private LocalityLbSettingParser() {}

  static LocalityLbSetting read(SpecReader setting) {
    Optional<Boolean> enabled = setting.bool("enabled");
    List<Distribute> distribute = new ArrayList<>();
    List<SpecReader> distributeEntries = setting.list("distribute");
    for (int i = 0; i < distributeEntries.size(); i++) {
      readDistribute(distributeEntries.get(i)).ifPresent(distribute::add);
    }
    checkLocalities(setting, "distribute", distribute.stream().map(Distribute::from).toList());
    List<Failover> failover = new ArrayList<>();
    for (SpecReader entry : setting.list("failover")) {
      String from = entry.requiredString("from");
      String to = entry.requiredString("to");
      entry.finish();
      if (from.equals(to) && !from.isEmpty()) {
        entry.error(null, "locality lb failover settings must specify different regions, got '" + from + "' twice");
      }
      if (from.contains("/") || to.contains("/")) {
        entry.error(null, "locality lb failover only specifies regions, got from '" + from + "' to '" + to + "'");
      }
      if (from.contains("*") || to.contains("*")) {
        entry.error(null, "locality lb failover regions must not contain the '*' wildcard");
      }
      failover.add(new Failover(from, to));
    }
    List<String> failoverPriority = setting.stringList("failoverPriority");
    if (!distribute.isEmpty() && !failover.isEmpty()) {
      setting.error("failover", "can not simultaneously specify 'distribute' and 'failover'");
    }
    for (int i = 0; i < failoverPriority.size(); i++) {
      String label = failoverPriority.get(i);
      String field = "failoverPriority[" + i + "]";
      String key = label.contains("=") ? label.substring(0, label.indexOf('=')) : label;
      if (key.isEmpty()) {
        setting.error(field, "must be a label name, or label=value, got '" + label + "'");
      } else if (!failover.isEmpty() && TOPOLOGY_LABELS.contains(key)) {
        setting.error(field, "can not simultaneously set 'failover' and topology label '" + key + "' in 'failover_priority'");
      } else if (!label.contains("=") && !TOPOLOGY_LABELS.contains(key)) {
        // Istio compares the label on the calling proxy with the endpoint's; mesh-control does not
        // translate per client label set, only per locality
        setting.error(field, "Inmesh compares the caller's own value of a failoverPriority label only for the locality"
            + " labels (" + String.join(", ", TOPOLOGY_LABELS.stream().sorted().toList()) + "); write '" + label
            + "=<value>' to rank endpoints by a value of your own");
      }
    }
    setting.finish();
    return new LocalityLbSetting(enabled, distribute, failover, failoverPriority);
  }

  private static Optional<Distribute> readDistribute(SpecReader entry) {
    String from = entry.requiredString("from");
    Map<String, Integer> to = new LinkedHashMap<>();
    Map<String, String> raw = entry.stringMap("to");
    int total = 0;
    boolean valid = true;
    for (Map.Entry<String, String> target : raw.entrySet()) {
      String field = "to." + target.getKey();
      if (!target.getValue().matches("\\d{1,9}")) {
        entry.error(field, "locality weight must be an integer in [1, 100], got '" + target.getValue() + "'");
        valid = false;
        continue;
      }
      int weight = Integer.parseInt(target.getValue());
      if (weight < 1 || weight > 100) {
        entry.error(field, "locality weight must be in range [1, 100], got " + weight);
        valid = false;
      }
      total += weight;
      to.put(target.getKey(), weight);
    }
    if (raw.isEmpty()) {
      entry.error("to", "is required");
      valid = false;
    } else if (valid && total != 100) {
      entry.error("to", "total locality weight " + total + " != 100");
      valid = false;
    }
    checkLocalities(entry, "to", List.copyOf(to.keySet()));
    entry.finish();
    return valid && !from.isEmpty() ? Optional.of(new Distribute(from, to)) : Optional.empty();
  }

  /**
   * Istio's rules for locality patterns: {@code region[/zone[/subzone]]}, no empty part, one
   * {@code *} at most and only at the end, and no pattern that another one already covers.
   */
  private static void checkLocalities(SpecReader reader, String field, List<String> localities) {
    Set<String> seen = new HashSet<>();
    boolean everything = false;
    for (String locality : localities) {
      long stars = locality.chars().filter(c -> c == '*').count();
      if (stars > 1 || (stars == 1 && !locality.endsWith("*"))) {
        reader.error(field, "locality " + locality + " wildcard '*' number can not exceed 1 and must be in the end");
        continue;
      }
      String[] parts = locality.split("/", -1);
      if (parts.length > 3 || java.util.Arrays.stream(parts).anyMatch(String::isEmpty)) {
        reader.error(field, "locality " + locality + " must be region/zone/subzone, with no empty part");
        continue;
      }
      if (everything || !seen.add(locality)) {
        reader.error(field, "locality " + locality + " overlaps with previously specified ones");
      }
      everything |= locality.equals("*");
    }
  }
}
