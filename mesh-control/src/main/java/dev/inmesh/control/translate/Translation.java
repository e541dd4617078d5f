package dev.inmesh.control.translate;

import dev.inmesh.control.config.Problem;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;

/** The xDS resources for the clients of one {@link ClientProfile}, and what the translator had to warn about. */
public record Translation(List<Listener> listeners, List<RouteConfiguration> routes, List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints, List<Problem> warnings) {
  public Translation {
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
    clusters = List.copyOf(clusters);
    endpoints = List.copyOf(endpoints);
    warnings = List.copyOf(warnings);
  }
}
