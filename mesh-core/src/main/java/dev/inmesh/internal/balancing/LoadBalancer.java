package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.Optional;

/**
 * Picks the endpoint for one attempt. Implementations are immutable over a fixed endpoint list
 * (a new list makes a new balancer) and safe to call from many threads.
 */
public interface LoadBalancer {
  /** Empty when no endpoint is available. */
  Optional<Endpoint> pick(PickRequest request);
}
