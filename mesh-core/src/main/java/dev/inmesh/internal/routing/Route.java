package dev.inmesh.internal.routing;

import java.util.Objects;

/** One route of a virtual host: when it applies, and what it does. */
public record Route(String name, RouteMatch match, RouteAction action) {
  public Route {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(match, "match");
    Objects.requireNonNull(action, "action");
  }
}
