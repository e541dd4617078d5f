package dev.inmesh.control.api;

import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.xds.LoadReports;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The service graph the dashboard draws, as Kiali's versioned app graph: a node per workload
 * (service and version), edges with what the clients reported over LRS (requests per second,
 * error rate, in flight, latency).
 *
 * <p>An edge starts at the workload the traffic is of: a report's owner node ({@link
 * LoadReports.Edge#owner()}), so a grpc-xds channel inside reviews v2 draws reviews v2, not a
 * node of its own. A reporter whose owner is not registered in its namespace is a pure client,
 * named by its node id up to the first {@code ~}. An edge ends at the subset its cluster names
 * (reviews v1); at a cluster without a subset, at the service's one workload node when it has one,
 * else at a service node, with an edge of kind {@code serves} to each of its workloads.
 */
final class ServiceGraph {
  private ServiceGraph() {}

  /** A node of the graph; {@code kind} is workload, service, subset, client or external. */
  private record Node(String id, String kind, String service, String namespace, Optional<String> version) {
    Map<String, Object> toJson(SortedSet<String> versions) {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("id", id);
      json.put("kind", kind);
      json.put("service", service);
      json.put("namespace", namespace);
      json.put("version", version.orElse(null));
      json.put("versions", List.copyOf(versions));
      return json;
    }
  }

  static Map<String, Object> build(List<Workload> workloads, List<LoadReports.Edge> edges) {
    Map<String, Workload> byNode = new LinkedHashMap<>();
    Map<String, Node> nodes = new TreeMap<>();
    // per service (service.namespace), the workload nodes that serve it
    Map<String, SortedSet<String>> members = new TreeMap<>();
    for (Workload workload : workloads) {
      byNode.put(workload.nodeId(), workload);
      Node node = workloadNode(workload);
      nodes.putIfAbsent(node.id(), node);
      members.computeIfAbsent(node.service() + "." + node.namespace(), k -> new TreeSet<>()).add(node.id());
    }
    List<Map<String, Object>> links = new ArrayList<>();
    SortedSet<String> serviceNodes = new TreeSet<>();
    for (LoadReports.Edge edge : edges) {
      Node from = caller(edge, byNode);
      nodes.putIfAbsent(from.id(), from);
      Node to = callee(edge.cluster(), edge.service(), nodes, members);
      nodes.putIfAbsent(to.id(), to);
      if (to.kind().equals("service")) {
        serviceNodes.add(to.id());
      }
      links.add(link(from.id(), to.id(), edge));
    }
    // in a stable order, so that the dashboard's layout stays put from one refresh to the next
    links.sort(java.util.Comparator.comparing((Map<String, Object> l) -> (String) l.get("from"))
        .thenComparing(l -> (String) l.get("to")).thenComparing(l -> (String) l.get("cluster")));
    for (String service : serviceNodes) {
      for (String member : members.getOrDefault(service, new TreeSet<>())) {
        Map<String, Object> serves = new LinkedHashMap<>();
        serves.put("from", service);
        serves.put("to", member);
        serves.put("kind", "serves");
        links.add(serves);
      }
    }
    List<Map<String, Object>> nodeList = new ArrayList<>();
    nodes.values().forEach(node -> nodeList.add(node.toJson(node.kind().equals("service")
        ? versionsOf(members.getOrDefault(node.id(), new TreeSet<>()), nodes) : new TreeSet<>())));
    Map<String, Object> graph = new LinkedHashMap<>();
    graph.put("nodes", nodeList);
    graph.put("edges", links);
    return graph;
  }

  /** {@code reviews.default/v1}; {@code reviews.default} for a workload without a version label. */
  private static Node workloadNode(Workload workload) {
    var meta = workload.metadata();
    Optional<String> version = Optional.ofNullable(meta.labels().get("version"));
    String service = meta.service() + "." + meta.namespace();
    return new Node(version.map(v -> service + "/" + v).orElse(service), "workload", meta.service(), meta.namespace(), version);
  }

  private static Node caller(LoadReports.Edge edge, Map<String, Workload> byNode) {
    Workload owner = byNode.get(edge.owner());
    // an owner counts only in the reporter's own namespace, which its certificate proves
    if (owner != null && owner.metadata().namespace().equals(edge.namespace())) {
      return workloadNode(owner);
    }
    String name = clientName(edge.client());
    return new Node(name, "client", name, edge.namespace(), Optional.empty());
  }

  private static Node callee(String cluster, String host, Map<String, Node> nodes, Map<String, SortedSet<String>> members) {
    String service = shortName(host);
    if (service.equals(host)) {
      return new Node(host, "external", host, "", Optional.empty());
    }
    int dot = service.indexOf('.');
    String name = dot > 0 ? service.substring(0, dot) : service;
    String namespace = dot > 0 ? service.substring(dot + 1) : "";
    String subset = subset(cluster);
    if (!subset.isEmpty()) {
      String id = service + "/" + subset;
      Node known = nodes.get(id);
      return known != null ? known : new Node(id, "subset", name, namespace, Optional.of(subset));
    }
    SortedSet<String> serving = members.getOrDefault(service, new TreeSet<>());
    if (serving.size() == 1) {
      return nodes.get(serving.first());
    }
    return new Node(service, "service", name, namespace, Optional.empty());
  }

  private static SortedSet<String> versionsOf(SortedSet<String> memberIds, Map<String, Node> nodes) {
    SortedSet<String> versions = new TreeSet<>();
    memberIds.forEach(id -> nodes.get(id).version().ifPresent(versions::add));
    return versions;
  }

  private static Map<String, Object> link(String from, String to, LoadReports.Edge edge) {
    Map<String, Object> link = new LinkedHashMap<>();
    link.put("from", from);
    link.put("to", to);
    link.put("kind", "traffic");
    link.put("cluster", edge.cluster());
    link.put("requestsPerSecond", round(edge.requestsPerSecond()));
    double total = edge.succeeded() + edge.failed();
    link.put("errorRate", total == 0 ? 0 : round(edge.failed() / total));
    link.put("requests", edge.succeeded() + edge.failed());
    link.put("inFlight", edge.inFlight());
    link.put("p50Millis", Double.isNaN(edge.p50Millis()) ? null : round(edge.p50Millis()));
    link.put("p99Millis", Double.isNaN(edge.p99Millis()) ? null : round(edge.p99Millis()));
    return link;
  }

  /** {@code reviews.default.svc.cluster.local} → {@code reviews.default}. */
  static String shortName(String host) {
    return host.endsWith(".svc.cluster.local") ? host.substring(0, host.length() - ".svc.cluster.local".length()) : host;
  }

  /** {@code outbound|9080|v1|reviews.default.svc.cluster.local} → {@code v1}; empty without one. */
  private static String subset(String cluster) {
    String[] parts = cluster.split("\\|", -1);
    return parts.length == 4 ? parts[2] : "";
  }

  private static String clientName(String nodeId) {
    int tilde = nodeId.indexOf('~');
    return tilde > 0 ? nodeId.substring(0, tilde) : nodeId;
  }

  private static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
