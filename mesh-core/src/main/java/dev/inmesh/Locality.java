package dev.inmesh;

import java.util.Objects;

/** Where a workload runs, as Envoy's {@code region/zone/sub_zone}. Empty parts are allowed. */
public record Locality(String region, String zone, String subZone) {
  public static final Locality UNKNOWN = new Locality("", "", "");

  public Locality {
    region = Objects.requireNonNullElse(region, "");
    zone = Objects.requireNonNullElse(zone, "");
    subZone = Objects.requireNonNullElse(subZone, "");
  }

  /** Parses Istio's {@code region/zone/subzone} form, as WorkloadEntry.locality writes it. */
  public static Locality parse(String value) {
    if (value == null || value.isEmpty()) {
      return UNKNOWN;
    }
    String[] parts = value.split("/", -1);
    if (parts.length > 3) {
      throw new IllegalArgumentException("locality must be region/zone/subzone, got '" + value + "'");
    }
    return new Locality(parts[0], parts.length > 1 ? parts[1] : "", parts.length > 2 ? parts[2] : "");
  }

  @Override
  public String toString() {
    StringBuilder result = new StringBuilder(region);
    if (!zone.isEmpty() || !subZone.isEmpty()) {
      result.append('/').append(zone);
    }
    if (!subZone.isEmpty()) {
      result.append('/').append(subZone);
    }
    return result.toString();
  }
}
