package dev.inmesh.control.explain;

import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.resilience.FaultConfig;
import dev.inmesh.internal.routing.Route;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.VirtualHost;
import dev.inmesh.internal.xds.XdsResources;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Explains a request against the config one client holds, with the client's own code: the same
 * listener lookup ({@link XdsResources#listener}), the same route table and first-match rule
 * ({@link RouteTable#route}) that {@code OutboundPipeline} runs. The reasons why earlier routes did
 * not match come from {@link dev.inmesh.internal.routing.RouteMatch#mismatch}, which only explanations call.
 */
public final class RequestExplainer {
  private RequestExplainer() {}

  public static RequestExplanation explain(String client, XdsResources resources, ExplainRequest request) {
    int defaultPort = request.scheme().equals("https") ? 443 : 80;
    Optional<ListenerConfig> listener = resources.listener(request.host(), request.port(), defaultPort);
    if (listener.isEmpty()) {
      return answer(client, request, "pass-through", 0, "no listener " + request.host() + ":" + request.port()
          + ": not a mesh host for this client, so the call goes out untouched", null, null, null);
    }
    String listenerName = listener.get().name();
    Optional<RouteTable> table = resources.routeTable(listener.get());
    if (table.isEmpty()) {
      return answer(client, request, "no-route", 503, "route configuration " + listener.get().routeConfigName()
          + " has not arrived (NR)", listenerName, null, null);
    }
    Optional<VirtualHost> host = table.get().virtualHost(listenerName);
    if (host.isEmpty()) {
      return answer(client, request, "no-route", 404, "no virtual host of " + table.get().name() + " serves "
          + listenerName + " (NR)", listenerName, table.get().name(), null);
    }
    // the client's own decision; the loop below only says why the routes before it did not take the request
    Optional<RouteTable.Matched> matched = table.get().route(listenerName, request);
    List<RequestExplanation.RouteNotTaken> notTaken = new ArrayList<>();
    for (Route route : host.get().routes()) {
      if (matched.isPresent() && matched.get().route() == route) {
        break;
      }
      notTaken.add(new RequestExplanation.RouteNotTaken(route.name(), route.match().mismatch(request).orElse("matches")));
    }
    if (matched.isEmpty()) {
      return new RequestExplanation(client, request.toString(), "no-route", 404, "no route matched (NR)",
          Optional.of(listenerName), Optional.of(table.get().name()), Optional.of(host.get().name()), notTaken,
          Optional.empty(), List.of(), List.of(), List.of());
    }
    Route route = matched.get().route();
    RouteAction action = route.action();
    if (action instanceof RouteAction.DirectResponse direct) {
      return taken(client, request, "direct-response", direct.status(), "the route answers " + direct.status()
          + (direct.body().isEmpty() ? "" : " with body '" + direct.body() + "'") + " (DR)", listenerName, table.get(),
          host.get(), notTaken, route, List.of(), List.of());
    }
    if (action instanceof RouteAction.Redirect redirect) {
      String location = redirect.location(request.scheme(), request.host(), request.port(), request.path(),
          request.rawQuery());
      return taken(client, request, "redirect", redirect.status(), "the route redirects to " + location + " (RD)",
          listenerName, table.get(), host.get(), notTaken, route, List.of(), List.of());
    }
    RouteAction.Forward forward = (RouteAction.Forward) action;
    List<RequestExplanation.ClusterChoice> clusters = new ArrayList<>();
    int total = forward.totalWeight();
    for (RouteAction.WeightedCluster weighted : forward.clusters()) {
      clusters.add(cluster(resources, weighted, forward.clusters().size() == 1 ? 100.0 : total == 0 ? 0 : 100.0 * weighted.weight() / total));
    }
    String detail = forward.clusters().size() == 1 ? "forwarded to " + forward.clusters().get(0).name()
        : "forwarded to one of " + forward.clusters().size() + " clusters, picked by weight";
    return taken(client, request, "forward", 0, detail, listenerName, table.get(), host.get(), notTaken, route, clusters,
        routePolicies(forward));
  }

  private static RequestExplanation answer(String client, ExplainRequest request, String outcome, int status, String detail,
      String listener, String table, String host) {
    return new RequestExplanation(client, request.toString(), outcome, status, detail, Optional.ofNullable(listener),
        Optional.ofNullable(table), Optional.ofNullable(host), List.of(), Optional.empty(), List.of(), List.of(), List.of());
  }

  private static RequestExplanation taken(String client, ExplainRequest request, String outcome, int status, String detail,
      String listener, RouteTable table, VirtualHost host, List<RequestExplanation.RouteNotTaken> notTaken, Route route,
      List<RequestExplanation.ClusterChoice> clusters, List<String> policies) {
    return new RequestExplanation(client, request.toString(), outcome, status, detail, Optional.of(listener),
        Optional.of(table.name()), Optional.of(host.name()), notTaken, Optional.of(route.name()), clusters, policies,
        List.of());
  }

  private static RequestExplanation.ClusterChoice cluster(XdsResources resources, RouteAction.WeightedCluster weighted,
      double percent) {
    String name = weighted.name();
    String[] parts = name.split("\\|", -1);
    String subset = parts.length == 4 && !parts[2].isEmpty() ? parts[2] : "-";
    ClusterConfig config = resources.clusters().get(name);
    if (config == null) {
      return new RequestExplanation.ClusterChoice(name, weighted.weight(), percent, subset, List.of(),
          List.of("cluster not found: the request fails with 503 (NC)"));
    }
    List<Endpoint> endpoints = resources.endpoints().getOrDefault(config.edsServiceName(), List.of());
    List<String> policies = new ArrayList<>();
    policies.add("balancing " + config.balancer().policy());
    var limits = config.limits();
    policies.add("limits: " + limits.maxConnections() + " connections, " + limits.maxPendingRequests() + " pending, "
        + limits.maxRequests() + " requests, " + limits.maxRetries() + " retries");
    config.outlierDetection().ifPresent(od -> policies.add("outlier detection: " + od));
    policies.add(config.tls().map(tls -> tls.origination().isPresent()
        ? "TLS originated by the client (" + (tls.origination().get().clientCertificate().isPresent() ? "MUTUAL" : "SIMPLE")
            + "), server trusted by " + tls.origination().get().trust()
            + (tls.identities().isEmpty() ? "" : ", server must name one of " + tls.identities())
        : (tls.scope() == dev.inmesh.internal.model.UpstreamTls.Scope.MARKED_ENDPOINTS
            ? "mutual TLS to the endpoints marked tlsMode: istio (plaintext to the rest), server must be one of "
            : "mutual TLS, server must be one of ") + tls.identities()).orElse("plaintext"));
    policies.add("connect timeout " + config.connectTimeout().toMillis() + " ms");
    if (endpoints.isEmpty()) {
      policies.add("no endpoints: the request fails with 503 (UH)");
    }
    return new RequestExplanation.ClusterChoice(name, weighted.weight(), percent, subset,
        endpoints.stream().map(e -> e.hostPort() + (e.locality().toString().isEmpty() ? "" : " " + e.locality())).toList(),
        policies);
  }

  private static List<String> routePolicies(RouteAction.Forward forward) {
    List<String> policies = new ArrayList<>();
    policies.add(forward.timeout().isZero() ? "timeout: none" : "timeout " + forward.timeout().toMillis() + " ms");
    policies.add(forward.retry().map(r -> "retries: " + r.numRetries() + " on " + String.join(",", r.retryOn())
        + r.perTryTimeout().map(t -> ", per try " + t.toMillis() + " ms").orElse("")).orElse("retries: none"));
    forward.fault().ifPresent(fault -> policies.add("fault: " + fault(fault)));
    forward.rewrite().ifPresent(rewrite -> policies.add("rewrite: "
        + rewrite.prefix().map(p -> "prefix to " + p).orElse("")
        + rewrite.regex().map(r -> "regex " + r.pattern().pattern() + " to " + rewrite.regexSubstitution()).orElse("")
        + rewrite.authority().map(a -> " authority " + a).orElse("")));
    forward.mirrors().forEach(m -> policies.add("mirror to " + m.cluster() + " for " + m.perMillion() / 10_000.0 + "%"));
    forward.hashPolicies().forEach(h -> policies.add("hash on " + h.kind() + (h.name().isEmpty() ? "" : " " + h.name())));
    if (!forward.headers().isEmpty()) {
      policies.add("request headers: " + forward.headers());
    }
    if (!forward.responseHeaders().isEmpty()) {
      policies.add("response headers: " + forward.responseHeaders());
    }
    return policies;
  }

  private static String fault(FaultConfig fault) {
    List<String> parts = new ArrayList<>();
    fault.delay().ifPresent(d -> parts.add("delay " + d.duration().toMillis() + " ms for " + d.percent() + "%"));
    fault.abort().ifPresent(a -> parts.add("abort " + (a.status() instanceof FaultConfig.AbortStatus.Http http
        ? "HTTP " + http.code() : "gRPC " + ((FaultConfig.AbortStatus.Grpc) a.status()).code()) + " for " + a.percent() + "%"));
    return String.join(", ", parts);
  }
}
