package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** Endpoint state that a test sets by hand. */
final class FakeEndpointState implements EndpointState {
  private final Set<Endpoint> ejected = new HashSet<>();
  private final Map<Endpoint, Integer> active = new HashMap<>();

  void eject(Endpoint... endpoints) {
    ejected.addAll(Set.of(endpoints));
  }

  void restore(Endpoint... endpoints) {
    ejected.removeAll(Set.of(endpoints));
  }

  void active(Endpoint endpoint, int requests) {
    active.put(endpoint, requests);
  }

  @Override
  public boolean isHealthy(Endpoint endpoint) {
    return !ejected.contains(endpoint);
  }

  @Override
  public int activeRequests(Endpoint endpoint) {
    return active.getOrDefault(endpoint, 0);
  }
}
