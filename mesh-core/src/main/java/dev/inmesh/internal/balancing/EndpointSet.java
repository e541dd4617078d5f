package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The fixed endpoint list of one balancer and the rules every policy shares: pick healthy endpoints
 * when there are any, all of them when there are none (Envoy's panic mode), and of those prefer the
 * ones a retry has not tried yet.
 *
 * <p>A pick first asks {@link #filter} which of those rules it can honour, then tests single
 * endpoints with {@link #admits}. Both only read, so that the request path does not allocate:
 * even the returned {@code Optional}s are made once, here.
 */
final class EndpointSet {
  static final int REQUIRE_HEALTHY = 1;
  static final int REQUIRE_UNTRIED = 2;

  private final List<Endpoint> endpoints;
  private final List<Optional<Endpoint>> choices;
  private final EndpointState state;

  EndpointSet(List<Endpoint> endpoints, EndpointState state) {
    this.endpoints = List.copyOf(endpoints);
    this.choices = this.endpoints.stream().map(Optional::of).toList();
    this.state = Objects.requireNonNull(state, "state");
  }

  int size() {
    return endpoints.size();
  }

  boolean isEmpty() {
    return endpoints.isEmpty();
  }

  Endpoint get(int index) {
    return endpoints.get(index);
  }

  Optional<Endpoint> choice(int index) {
    return choices.get(index);
  }

  List<Endpoint> endpoints() {
    return endpoints;
  }

  boolean isHealthy(int index) {
    return state.isHealthy(endpoints.get(index));
  }

  int activeRequests(int index) {
    return state.activeRequests(endpoints.get(index));
  }

  /** The rules this pick can honour, as a mask of {@code REQUIRE_*} bits; 0 means anything goes. */
  int filter(Set<Endpoint> tried) {
    if (tried.isEmpty()) {
      // The common first attempt: one healthy endpoint settles it, usually the first one looked at.
      for (Endpoint endpoint : endpoints) {
        if (state.isHealthy(endpoint)) {
          return REQUIRE_HEALTHY;
        }
      }
      return 0;
    }
    boolean anyHealthy = false;
    boolean anyUntried = false;
    for (Endpoint endpoint : endpoints) {
      boolean healthy = state.isHealthy(endpoint);
      boolean untried = !tried.contains(endpoint);
      if (healthy && untried) {
        return REQUIRE_HEALTHY | REQUIRE_UNTRIED;
      }
      anyHealthy |= healthy;
      anyUntried |= untried;
    }
    if (anyHealthy) {
      return REQUIRE_HEALTHY;
    }
    return anyUntried ? REQUIRE_UNTRIED : 0;
  }

  boolean admits(int filter, int index, Set<Endpoint> tried) {
    Endpoint endpoint = endpoints.get(index);
    return ((filter & REQUIRE_HEALTHY) == 0 || state.isHealthy(endpoint))
        && ((filter & REQUIRE_UNTRIED) == 0 || !tried.contains(endpoint));
  }

  /** Whether a pick here could honour {@code filter}: used to choose a locality level. */
  boolean anyAdmitted(int filter, Set<Endpoint> tried) {
    for (int i = 0; i < endpoints.size(); i++) {
      if (admits(filter, i, tried)) {
        return true;
      }
    }
    return false;
  }
}
