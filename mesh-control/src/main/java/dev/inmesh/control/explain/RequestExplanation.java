package dev.inmesh.control.explain;

import java.util.List;
import java.util.Optional;

/**
 * Why a client would do what it does with one request: the listener and route it takes, the
 * routes it passes over and why, the clusters it may pick (by weight) with their endpoints and
 * policies, and the answer when the mesh gives one itself (a 404 for no route, a redirect, a
 * direct response).
 *
 * @param outcome {@code forward}, {@code pass-through}, {@code redirect}, {@code direct-response} or {@code no-route}
 * @param status the status the mesh answers itself with, or 0 when the request is forwarded
 */
public record RequestExplanation(
    String client,
    String request,
    String outcome,
    int status,
    String detail,
    Optional<String> listener,
    Optional<String> routeTable,
    Optional<String> virtualHost,
    List<RouteNotTaken> notTaken,
    Optional<String> route,
    List<ClusterChoice> clusters,
    List<String> policies) {

  public RequestExplanation {
    notTaken = List.copyOf(notTaken);
    clusters = List.copyOf(clusters);
    policies = List.copyOf(policies);
  }

  /** A route the request passed over, and the first condition of it that failed. */
  public record RouteNotTaken(String route, String reason) {}

  /**
   * One cluster the route may send to: its share of the traffic, its subset, its endpoints, and
   * the cluster's own policies (balancing, limits, outlier detection, mutual TLS).
   */
  public record ClusterChoice(String cluster, int weight, double percent, String subset, List<String> endpoints,
      List<String> policies) {
    public ClusterChoice {
      endpoints = List.copyOf(endpoints);
      policies = List.copyOf(policies);
    }
  }
}
