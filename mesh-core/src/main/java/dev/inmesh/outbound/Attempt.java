package dev.inmesh.outbound;

import dev.inmesh.model.Endpoint;
import dev.inmesh.routing.RouteAction.HeaderMutations;
import java.time.Duration;
import java.util.List;

/**
 * One try of a call: where to send it, what the request becomes on the way (path rewrite,
 * authority, header changes), and how long it may take.
 */
public record Attempt(int number, String cluster, Endpoint endpoint, String path, String authority,
    List<HeaderMutations> headerMutations, Duration timeout) {
  public Attempt {
    headerMutations = List.copyOf(headerMutations);
  }
}
