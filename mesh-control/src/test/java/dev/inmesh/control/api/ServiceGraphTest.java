package dev.inmesh.control.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.xds.LoadReports;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceGraphTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void aGrpcChannelsReportsDrawAnEdgeFromTheWorkloadThatOwnsIt() {
    var graph = ServiceGraph.build(List.of(workload("reviews~1", "reviews", "v2"), workload("ratings~1", "ratings", "v1")),
        List.of(edge("reviews~grpc-client~9", "reviews~1", "default", "outbound|9080||ratings.default.svc.cluster.local")));

    assertThat(ids(graph)).containsExactly("ratings.default/v1", "reviews.default/v2");
    assertThat(traffic(graph)).singleElement().satisfies(e -> {
      assertThat(e).containsEntry("from", "reviews.default/v2").containsEntry("to", "ratings.default/v1");
      assertThat(e).containsEntry("requestsPerSecond", 4.0).containsEntry("errorRate", 0.25);
    });
  }

  @Test
  void anOwnerInAnotherNamespaceThanTheReporterIsNotBelieved() {
    var graph = ServiceGraph.build(List.of(workload("reviews~1", "reviews", "v2"), workload("ratings~1", "ratings", "v1")),
        List.of(edge("intruder~grpc-client~9", "reviews~1", "other", "outbound|9080||ratings.default.svc.cluster.local")));

    assertThat(traffic(graph)).singleElement().satisfies(e -> assertThat(e).containsEntry("from", "intruder"));
    assertThat(nodes(graph)).filteredOn(n -> n.get("id").equals("intruder")).singleElement()
        .satisfies(n -> assertThat(n).containsEntry("kind", "client").containsEntry("namespace", "other"));
  }

  @Test
  void aSubsetClusterEndsAtThatVersionsNode() {
    var graph = ServiceGraph.build(List.of(workload("pp~1", "productpage", "v1"), workload("r1", "reviews", "v1"),
            workload("r3", "reviews", "v3")),
        List.of(edge("pp~1", "pp~1", "default", "outbound|9080|v3|reviews.default.svc.cluster.local")));

    assertThat(traffic(graph)).singleElement().satisfies(e ->
        assertThat(e).containsEntry("from", "productpage.default/v1").containsEntry("to", "reviews.default/v3"));
    assertThat(ids(graph)).doesNotContain("reviews.default");
  }

  @Test
  void aClusterWithoutSubsetOfAServiceWithSeveralVersionsEndsAtAServiceNodeThatServesEachVersion() {
    var graph = ServiceGraph.build(List.of(workload("pp~1", "productpage", "v1"), workload("r1", "reviews", "v1"),
            workload("r2", "reviews", "v2")),
        List.of(edge("pp~1", "pp~1", "default", "outbound|9080||reviews.default.svc.cluster.local")));

    assertThat(traffic(graph)).singleElement().satisfies(e -> assertThat(e).containsEntry("to", "reviews.default"));
    assertThat(nodes(graph)).filteredOn(n -> n.get("id").equals("reviews.default")).singleElement()
        .satisfies(n -> assertThat(n).containsEntry("kind", "service").containsEntry("versions", List.of("v1", "v2")));
    assertThat(edges(graph)).filteredOn(e -> "serves".equals(e.get("kind")))
        .extracting(e -> e.get("from") + " -> " + e.get("to"))
        .containsExactly("reviews.default -> reviews.default/v1", "reviews.default -> reviews.default/v2");
  }

  @Test
  void aPureClientIsNamedByItsNodeIdAndAnExternalHostByItsName() {
    var graph = ServiceGraph.build(List.of(),
        List.of(edge("client~abc", "client~abc", "default", "outbound|443||api.example.com")));

    assertThat(nodes(graph)).extracting(n -> n.get("id") + ":" + n.get("kind"))
        .containsExactly("api.example.com:external", "client:client");
  }

  private static Workload workload(String nodeId, String service, String version) {
    return new Workload(nodeId, new WorkloadMetadata(service, "default", service, service,
        Map.of("app", service, "version", version), "127.0.0.1", List.of(new ServicePort("http", 9080, 9080, "http")),
        null), NOW);
  }

  private static LoadReports.Edge edge(String client, String owner, String namespace, String cluster) {
    return new LoadReports.Edge(client, owner, namespace, cluster, cluster.substring(cluster.lastIndexOf('|') + 1),
        30, 10, 1, 4.0, 1.0, Double.NaN, Double.NaN, NOW);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> nodes(Map<String, Object> graph) {
    return (List<Map<String, Object>>) graph.get("nodes");
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> edges(Map<String, Object> graph) {
    return (List<Map<String, Object>>) graph.get("edges");
  }

  private static List<Map<String, Object>> traffic(Map<String, Object> graph) {
    return edges(graph).stream().filter(e -> "traffic".equals(e.get("kind"))).toList();
  }

  private static List<Object> ids(Map<String, Object> graph) {
    return nodes(graph).stream().map(n -> n.get("id")).toList();
  }
}
