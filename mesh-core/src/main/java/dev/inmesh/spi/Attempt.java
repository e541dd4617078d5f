package dev.inmesh.spi;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One try of a call: where to send it, what the request becomes on the way (path rewrite,
 * authority, header changes), how long it may take, and whether it goes over mesh mutual TLS
 * ({@code tls}: the identities the server may present).
 */
public record Attempt(int number, String cluster, Endpoint endpoint, String path, String authority,
    List<HeaderMutations> headerMutations, Duration timeout, Optional<UpstreamTls> tls) {
  public Attempt {
    headerMutations = List.copyOf(headerMutations);
    Objects.requireNonNull(tls, "tls");
  }
}
