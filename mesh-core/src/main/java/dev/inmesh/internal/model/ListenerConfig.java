package dev.inmesh.internal.model;

import dev.inmesh.internal.routing.RouteTable;
import java.util.Optional;

/** An API listener: the name a client dials, and where its routes come from (RDS or inline). */
public record ListenerConfig(String name, String routeConfigName, Optional<RouteTable> inlineRoutes) {}
