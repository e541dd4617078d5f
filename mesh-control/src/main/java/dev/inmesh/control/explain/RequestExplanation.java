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
    List<String> policies,
    List<Authorization> authorization) {

  public RequestExplanation {
    notTaken = List.copyOf(notTaken);
    clusters = List.copyOf(clusters);
    policies = List.copyOf(policies);
    authorization = List.copyOf(authorization);
  }

  /** This explanation with the destinations' authorization decisions. */
  public RequestExplanation withAuthorization(List<Authorization> decisions) {
    return new RequestExplanation(client, request, outcome, status, detail, listener, routeTable, virtualHost, notTaken,
        route, clusters, policies, decisions);
  }

  /**
   * What one destination workload's inbound authorization decides for the request, with the
   * engine its server runs over the listener it holds.
   *
   * @param destination the destination's node id, or the endpoint when no workload serves it
   * @param endpoint the {@code address:port} the request goes to
   * @param listener the server listener evaluated; empty when none could be
   * @param mtls the port's mode (STRICT, PERMISSIVE, DISABLE), or empty when unknown
   * @param principal the caller's SPIFFE ID as the server sees it; empty for plaintext
   * @param decision {@code allowed}, {@code denied}, or {@code unknown} when nothing could be evaluated
   * @param detail why, in words: the policy and rule that decided, or the reason none did
   * @param policy the RBAC policy name that decided ({@code ns[<ns>]-policy[<name>]-rule[<i>]}), when one did
   * @param notes what decides nothing but is worth knowing: AUDIT matches, dry-run outcomes
   */
  public record Authorization(String destination, String endpoint, Optional<String> listener, Optional<String> mtls,
      Optional<String> principal, String decision, String detail, Optional<String> policy, List<String> notes) {
    public Authorization {
      notes = List.copyOf(notes);
    }
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
