package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What one pick knows: the request's hash for ring hash (empty when the route has no hash policy
 * or the request lacks the key), and the endpoints already tried by earlier attempts of the same
 * call, which a retry avoids when another endpoint is available.
 */
public record PickRequest(OptionalLong hash, Set<Endpoint> tried) {
  public static final PickRequest ANY = new PickRequest(OptionalLong.empty(), Set.of());

  public PickRequest {
    tried = Set.copyOf(tried);
  }
}
