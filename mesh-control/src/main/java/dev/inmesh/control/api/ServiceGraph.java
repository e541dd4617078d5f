package dev.inmesh.control.api;

import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.xds.LoadReports;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The service graph the dashboard draws: nodes are workloads by service and version (and clients
 * that serve nothing), edges are what the clients reported over LRS: requests per second, error
 * rate, in flight. A client is matched to its workload by its node id.
 */
final class ServiceGraph {
  private ServiceGraph() {}

  static Map<String, Object> build(List<Workload> workloads, List<LoadReports.Edge> edges) {
    Map<String, String> nodeOfClient = new LinkedHashMap<>();
    Map<String, java.util.SortedSet<String>> versions = new TreeMap<>();
    for (Workload workload : workloads) {
      var meta = workload.metadata();
      String id = meta.service() + "." + meta.namespace();
      nodeOfClient.put(workload.nodeId(), id);
      var set = versions.computeIfAbsent(id, k -> new java.util.TreeSet<>());
      String version = meta.labels().get("version");
      if (version != null) {
        set.add(version);
      }
    }
    List<Map<String, Object>> links = new ArrayList<>();
    for (LoadReports.Edge edge : edges) {
      String from = nodeOfClient.getOrDefault(edge.client(), clientName(edge.client()));
      String to = shortName(edge.service());
      versions.computeIfAbsent(from, k -> new java.util.TreeSet<>());
      versions.computeIfAbsent(to, k -> new java.util.TreeSet<>());
      Map<String, Object> link = new LinkedHashMap<>();
      link.put("from", from);
      link.put("to", to);
      link.put("cluster", edge.cluster());
      link.put("requestsPerSecond", round(edge.requestsPerSecond()));
      double total = edge.succeeded() + edge.failed();
      link.put("errorRate", total == 0 ? 0 : round(edge.failed() / total));
      link.put("requests", edge.succeeded() + edge.failed());
      link.put("inFlight", edge.inFlight());
      link.put("p50Millis", Double.isNaN(edge.p50Millis()) ? null : round(edge.p50Millis()));
      link.put("p99Millis", Double.isNaN(edge.p99Millis()) ? null : round(edge.p99Millis()));
      links.add(link);
    }
    List<Map<String, Object>> nodes = new ArrayList<>();
    versions.forEach((id, v) -> {
      Map<String, Object> node = new LinkedHashMap<>();
      node.put("id", id);
      node.put("versions", List.copyOf(v));
      nodes.add(node);
    });
    Map<String, Object> graph = new LinkedHashMap<>();
    graph.put("nodes", nodes);
    graph.put("edges", links);
    return graph;
  }

  /** {@code reviews.default.svc.cluster.local} → {@code reviews.default}. */
  static String shortName(String host) {
    return host.endsWith(".svc.cluster.local") ? host.substring(0, host.length() - ".svc.cluster.local".length()) : host;
  }

  private static String clientName(String nodeId) {
    int tilde = nodeId.indexOf('~');
    return tilde > 0 ? nodeId.substring(0, tilde) : nodeId;
  }

  private static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
