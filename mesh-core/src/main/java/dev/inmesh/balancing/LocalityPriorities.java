package dev.inmesh.balancing;

import dev.inmesh.model.Endpoint;
import dev.inmesh.model.Locality;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A cluster's endpoints grouped into priority levels by how close they run to the client, as
 * Istio's locality failover orders them: same region, zone and sub-zone is level 0, same region and
 * zone 1, same region 2, anything else 3. A client that does not know its locality puts every
 * endpoint at level 0, because it cannot prefer any.
 *
 * @param levels the non-empty levels, nearest first; each keeps the endpoints' original order
 */
public record LocalityPriorities(List<List<Endpoint>> levels) {
  public static final int SAME_SUB_ZONE = 0;
  public static final int SAME_ZONE = 1;
  public static final int SAME_REGION = 2;
  public static final int ELSEWHERE = 3;

  public LocalityPriorities {
    levels = levels.stream().map(List::copyOf).toList();
    for (List<Endpoint> level : levels) {
      if (level.isEmpty()) {
        throw new IllegalArgumentException("locality levels must not be empty, got " + levels);
      }
    }
  }

  public static LocalityPriorities of(Locality client, List<Endpoint> endpoints) {
    Objects.requireNonNull(client, "client");
    List<List<Endpoint>> byPriority = new ArrayList<>();
    for (int priority = SAME_SUB_ZONE; priority <= ELSEWHERE; priority++) {
      byPriority.add(new ArrayList<>());
    }
    for (Endpoint endpoint : endpoints) {
      byPriority.get(priority(client, endpoint.locality())).add(endpoint);
    }
    return new LocalityPriorities(byPriority.stream().filter(level -> !level.isEmpty()).toList());
  }

  /** The level of an endpoint in {@code endpoint} as seen from a client in {@code client}. */
  public static int priority(Locality client, Locality endpoint) {
    if (client.equals(Locality.UNKNOWN)) {
      return SAME_SUB_ZONE;
    }
    if (!client.region().equals(endpoint.region())) {
      return ELSEWHERE;
    }
    if (!client.zone().equals(endpoint.zone())) {
      return SAME_REGION;
    }
    return client.subZone().equals(endpoint.subZone()) ? SAME_SUB_ZONE : SAME_ZONE;
  }
}
