package dev.inmesh.internal.model;

import dev.inmesh.internal.routing.RouteTable;
import java.util.Objects;
import java.util.Optional;

/**
 * An API listener: the name a client dials, and where its routes come from (RDS or inline). A
 * gateway's listener ({@code gateway} present) is not dialled by name: the gateway serves its port,
 * and each of its servers names its own route configuration.
 */
public record ListenerConfig(String name, String routeConfigName, Optional<RouteTable> inlineRoutes,
    Optional<GatewayListener> gateway) {
  public ListenerConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(routeConfigName, "routeConfigName");
    Objects.requireNonNull(inlineRoutes, "inlineRoutes");
    Objects.requireNonNull(gateway, "gateway");
  }

  public ListenerConfig(String name, String routeConfigName, Optional<RouteTable> inlineRoutes) {
    this(name, routeConfigName, inlineRoutes, Optional.empty());
  }

  /** A gateway's listener. */
  public static ListenerConfig of(GatewayListener gateway) {
    return new ListenerConfig(gateway.name(), "", Optional.empty(), Optional.of(gateway));
  }
}
