package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** EDS priorities and locality weights per client locality, as Istio's locality failover and distribute tasks show them. */
class LocalityLoadBalancingTranslationTest {
  private static final String CLUSTER = "outbound|5000||helloworld.sample.svc.cluster.local";
  private static final Locality REGION1_ZONE1 = new Locality("region1", "zone1", "");
  private static final String OUTLIER_DETECTION = """
          outlierDetection:
            consecutive5xxErrors: 1
            interval: 1s
            baseEjectionTime: 1m
      """;

  private final XdsTranslator translator = new XdsTranslator(host -> List.of());
  private final List<Workload> workloads = new ArrayList<>(List.of(
      helloworld(9001, new Locality("region1", "zone1", "")),
      helloworld(9002, new Locality("region1", "zone2", "")),
      helloworld(9003, new Locality("region2", "zone3", "")),
      helloworld(9004, new Locality("region3", "zone4", ""))));

  private static String destinationRule(String loadBalancer, String rest) {
    return """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: helloworld
          namespace: sample
        spec:
          host: helloworld.sample.svc.cluster.local
          trafficPolicy:
            loadBalancer:
        """ + loadBalancer.indent(6) + rest;
  }

  @Test
  void ranksLocalitiesAsIstiosFailoverTaskDoesLeavingNoPriorityEmpty() {
    Translation translation = translate(REGION1_ZONE1, destinationRule("""
        simple: ROUND_ROBIN
        localityLbSetting:
          enabled: true
          failover:
          - from: region1
            to: region2
        """, OUTLIER_DETECTION));

    // Istio's table: zone1 0, (no sub-zone: none) 1, zone2 2, region2 by failover 3, region3 4
    assertThat(priorities(endpoints(translation))).containsExactly(
        Map.entry("region1/zone1", 0), Map.entry("region1/zone2", 1), Map.entry("region2/zone3", 2),
        Map.entry("region3/zone4", 3));
    assertThat(cluster(translation).getCommonLbConfig().hasLocalityWeightedLbConfig()).isTrue();
  }

  @Test
  void ranksOtherRegionsTogetherWithoutAFailoverRule() {
    Translation translation = translate(REGION1_ZONE1, destinationRule("simple: ROUND_ROBIN\n", OUTLIER_DETECTION));

    assertThat(priorities(endpoints(translation))).containsExactly(
        Map.entry("region1/zone1", 0), Map.entry("region1/zone2", 1), Map.entry("region2/zone3", 2),
        Map.entry("region3/zone4", 2));
  }

  @Test
  void eachClientLocalityGetsItsOwnPriorities() {
    String rule = destinationRule("simple: ROUND_ROBIN\n", OUTLIER_DETECTION);

    assertThat(priorities(endpoints(translate(new Locality("region2", "zone3", ""), rule)))).containsExactly(
        Map.entry("region1/zone1", 1), Map.entry("region1/zone2", 1), Map.entry("region2/zone3", 0),
        Map.entry("region3/zone4", 1));
  }

  @Test
  void appliesNoFailoverWithoutOutlierDetectionAsIstioDoes() {
    Translation translation = translate(REGION1_ZONE1, destinationRule("""
        localityLbSetting:
          failover:
          - from: region1
            to: region2
        """, ""));

    assertThat(priorities(endpoints(translation)).values()).containsOnly(0);
    assertThat(cluster(translation).getCommonLbConfig().hasLocalityWeightedLbConfig()).isFalse();
  }

  @Test
  void enabledFalseTurnsLocalityLoadBalancingOff() {
    Translation translation = translate(REGION1_ZONE1, destinationRule("""
        localityLbSetting:
          enabled: false
        """, OUTLIER_DETECTION));

    assertThat(priorities(endpoints(translation)).values()).containsOnly(0);
    assertThat(cluster(translation).getCommonLbConfig().hasLocalityWeightedLbConfig()).isFalse();
  }

  @Test
  void aClientThatDoesNotKnowItsLocalityGetsEveryEndpointAtPriorityZero() {
    Translation translation = translate(Locality.UNKNOWN, destinationRule("simple: ROUND_ROBIN\n", OUTLIER_DETECTION));

    assertThat(priorities(endpoints(translation)).values()).containsOnly(0);
  }

  @Test
  void distributeWeighsLocalitiesForClientsItsFromMatchesAndDropsTheLocalitiesNoTargetMatches() {
    workloads.add(helloworld(9005, new Locality("region1", "zone2", "rack2")));
    String rule = destinationRule("""
        localityLbSetting:
          enabled: true
          distribute:
          - from: region1/zone1/*
            to:
              "region1/zone1/*": 70
              "region1/zone2/*": 20
              "region3/zone4/*": 10
        """, OUTLIER_DETECTION);

    ClusterLoadAssignment assignment = endpoints(translate(REGION1_ZONE1, rule));

    // region1/zone2's 20 is shared by its two sub-zones; region2 gets no traffic
    assertThat(weights(assignment)).containsExactly(
        Map.entry("region1/zone1", 70), Map.entry("region1/zone2", 10), Map.entry("region1/zone2/rack2", 10),
        Map.entry("region3/zone4", 10));
    assertThat(priorities(assignment).values()).containsOnly(0);
    // a client in another zone is not matched by from: every locality, weighed by its endpoints
    assertThat(weights(endpoints(translate(new Locality("region2", "zone3", ""), rule))).values()).containsOnly(1);
  }

  @Test
  void failoverPriorityRanksByLabelsAndLocalityLabels() {
    workloads.clear();
    workloads.add(helloworld(9001, new Locality("region1", "zone1", ""), Map.of("network", "n1")));
    workloads.add(helloworld(9002, new Locality("region1", "zone2", ""), Map.of("network", "n1")));
    workloads.add(helloworld(9003, new Locality("region1", "zone1", ""), Map.of("network", "n2")));
    Translation translation = translate(REGION1_ZONE1, destinationRule("""
        localityLbSetting:
          failoverPriority:
          - network=n1
          - topology.kubernetes.io/zone
        """, OUTLIER_DETECTION));

    Map<Integer, Integer> priorityByPort = new TreeMap<>();
    endpoints(translation).getEndpointsList().forEach(group -> group.getLbEndpointsList().forEach(e ->
        priorityByPort.put(e.getEndpoint().getAddress().getSocketAddress().getPortValue(), group.getPriority())));
    assertThat(priorityByPort).containsExactly(Map.entry(9001, 0), Map.entry(9002, 1), Map.entry(9003, 2));
  }

  @Test
  void proxylessGrpcGetsEachLocalityAtOnePriorityWithAWarningWhenFailoverPriorityWouldSplitIt() {
    workloads.clear();
    workloads.add(helloworld(9001, new Locality("region1", "zone1", ""), Map.of("network", "n1")));
    workloads.add(helloworld(9002, new Locality("region1", "zone1", ""), Map.of("network", "n2")));
    workloads.add(helloworld(9003, new Locality("region1", "zone2", ""), Map.of("network", "n2")));
    String rule = destinationRule("""
        localityLbSetting:
          failoverPriority:
          - network=n1
        """, OUTLIER_DETECTION);

    Translation inmesh = translate(REGION1_ZONE1, rule);
    Translation grpc = translate(new ClientProfile("sample", true, false, REGION1_ZONE1), rule);

    assertThat(endpoints(inmesh).getEndpointsList()).hasSize(3);
    assertThat(priorities(endpoints(grpc))).containsExactly(Map.entry("region1/zone1", 0), Map.entry("region1/zone2", 1));
    assertThat(endpoints(grpc).getEndpointsList().get(0).getLbEndpointsCount()).isEqualTo(2);
    assertThat(grpc.warnings()).extracting(dev.inmesh.control.config.Problem::field)
        .contains("trafficPolicy.loadBalancer.localityLbSetting.failoverPriority");
    assertThat(inmesh.warnings()).extracting(dev.inmesh.control.config.Problem::field)
        .doesNotContain("trafficPolicy.loadBalancer.localityLbSetting.failoverPriority");
  }

  @Test
  void proxylessGrpcGetsThePrioritiesButNoLocalityWeightedConfig() {
    Translation translation = translate(new ClientProfile("sample", true, false, REGION1_ZONE1),
        destinationRule("simple: ROUND_ROBIN\n", OUTLIER_DETECTION));

    assertThat(priorities(endpoints(translation)).get("region1/zone2")).isEqualTo(1);
    assertThat(cluster(translation).getCommonLbConfig().hasLocalityWeightedLbConfig()).isFalse();
    assertThat(endpoints(translation).getEndpointsList()).allMatch(LocalityLbEndpoints::hasLoadBalancingWeight);
  }

  @Test
  void theProfileKeyCarriesTheLocalityAndReadsBack() {
    ClientProfile profile = new ClientProfile("sample", true, true, new Locality("eu;west", "zone/1", "rack 2"));

    assertThat(ClientProfile.parse(profile.key())).isEqualTo(profile);
    assertThat(ClientProfile.parse(new ClientProfile("sample", false, false).key()).locality()).isEqualTo(Locality.UNKNOWN);
    assertThat(profile.key()).isNotEqualTo(new ClientProfile("sample", true, true, REGION1_ZONE1).key());
  }

  private Translation translate(Locality client, String yaml) {
    return translate(new ClientProfile("sample", false, false, client), yaml);
  }

  private Translation translate(ClientProfile profile, String yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", yaml);
    assertThat(parsed.errors()).isEmpty();
    return translator.translate(new MeshState(parsed.resources(), workloads), profile);
  }

  private static Workload helloworld(int port, Locality locality) {
    return helloworld(port, locality, Map.of());
  }

  private static Workload helloworld(int port, Locality locality, Map<String, String> extraLabels) {
    Map<String, String> labels = new TreeMap<>(extraLabels);
    labels.put("app", "helloworld");
    WorkloadMetadata metadata = new WorkloadMetadata("helloworld", "sample", "helloworld", "helloworld-" + port,
        labels, "127.0.0.1", List.of(ServicePort.of("http", 5000, port)), locality);
    return new Workload("helloworld-" + port, metadata, Instant.EPOCH);
  }

  private static Cluster cluster(Translation translation) {
    return translation.clusters().stream().filter(c -> c.getName().equals(CLUSTER)).findFirst().orElseThrow();
  }

  private static ClusterLoadAssignment endpoints(Translation translation) {
    return translation.endpoints().stream().filter(c -> c.getClusterName().equals(CLUSTER)).findFirst().orElseThrow();
  }

  private static Map<String, Integer> priorities(ClusterLoadAssignment assignment) {
    Map<String, Integer> priorities = new TreeMap<>();
    assignment.getEndpointsList().forEach(group -> priorities.put(name(group), group.getPriority()));
    return priorities;
  }

  private static Map<String, Integer> weights(ClusterLoadAssignment assignment) {
    Map<String, Integer> weights = new TreeMap<>();
    assignment.getEndpointsList().forEach(group -> weights.put(name(group), group.getLoadBalancingWeight().getValue()));
    return weights;
  }

  private static String name(LocalityLbEndpoints group) {
    return new Locality(group.getLocality().getRegion(), group.getLocality().getZone(), group.getLocality().getSubZone())
        .toString();
  }
}
