package dev.inmesh.control.config.networking;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.networking.DestinationRule.LocalityLbSetting;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LocalityLbSettingParserTest {
  private static final String PATH = "spec.trafficPolicy.loadBalancer.localityLbSetting";

  private static ParseResult parse(String localityLbSetting, boolean outlierDetection) {
    String yaml = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: helloworld
          namespace: sample
        spec:
          host: helloworld.sample.svc.cluster.local
          trafficPolicy:
            loadBalancer:
              localityLbSetting:
        """ + localityLbSetting.indent(8) + (outlierDetection ? """
            outlierDetection:
              consecutive5xxErrors: 1
              interval: 1s
              baseEjectionTime: 1m
        """ : "");
    return ConfigParser.defaults().parse("dr.yaml", yaml);
  }

  private static LocalityLbSetting setting(ParseResult result) {
    assertThat(result.errors()).isEmpty();
    return result.resources().get(0).spec(DestinationRule.class).trafficPolicy().orElseThrow()
        .loadBalancer().orElseThrow().localityLbSetting().orElseThrow();
  }

  private static Problem errorAt(ParseResult result, String field) {
    assertThat(result.resources()).isEmpty();
    assertThat(result.errors()).extracting(Problem::field).contains(field);
    return result.errors().stream().filter(p -> p.field().equals(field)).findFirst().orElseThrow();
  }

  @Test
  void readsFailoverInTheShapeOfIstiosTaskWithoutAWarning() {
    ParseResult result = parse("""
        enabled: true
        failover:
          - from: region1
            to: region2
        """, true);
    assertThat(result.warnings()).extracting(Problem::field).noneMatch(field -> field.contains("locality"));
    LocalityLbSetting setting = setting(result);

    assertThat(setting.enabled()).contains(true);
    assertThat(setting.failover()).containsExactly(new DestinationRule.Failover("region1", "region2"));
  }

  @Test
  void readsDistributeWithItsWildcards() {
    LocalityLbSetting setting = setting(parse("""
        distribute:
        - from: region1/zone1/*
          to:
            "region1/zone1/*": 80
            "region1/zone2/*": 20
        """, true));

    assertThat(setting.distribute()).containsExactly(new DestinationRule.Distribute("region1/zone1/*",
        Map.of("region1/zone1/*", 80, "region1/zone2/*", 20)));
    assertThat(setting.enabled()).isEqualTo(Optional.empty());
  }

  @Test
  void refusesDistributeAndFailoverTogetherNamingTheField() {
    Problem problem = errorAt(parse("""
        distribute:
        - from: region1/*
          to:
            "region1/*": 100
        failover:
        - from: region1
          to: region2
        """, true), PATH + ".failover");

    assertThat(problem.message()).contains("can not simultaneously specify 'distribute' and 'failover'");
  }

  @Test
  void refusesDistributeWeightsThatDoNotAddUpToAHundred() {
    Problem problem = errorAt(parse("""
        distribute:
        - from: region1/*
          to:
            "region1/*": 70
            "region2/*": 20
        """, true), PATH + ".distribute[0].to");

    assertThat(problem.message()).contains("total locality weight 90 != 100");
  }

  @Test
  void refusesAWildcardThatIsNotAtTheEnd() {
    Problem problem = errorAt(parse("""
        distribute:
        - from: "*/zone1"
          to:
            "region1/*": 100
        """, true), PATH + ".distribute");

    assertThat(problem.message()).contains("must be in the end");
  }

  @Test
  void refusesFailoverBetweenZonesOrToTheSameRegion() {
    ParseResult zones = parse("""
        failover:
        - from: region1/zone1
          to: region2
        """, true);
    assertThat(errorAt(zones, PATH + ".failover[0]").message()).contains("only specifies regions");

    ParseResult same = parse("""
        failover:
        - from: region1
          to: region1
        """, true);
    assertThat(errorAt(same, PATH + ".failover[0]").message()).contains("different regions");
  }

  @Test
  void refusesFailoverWithATopologyLabelInFailoverPriority() {
    Problem problem = errorAt(parse("""
        failover:
        - from: region1
          to: region2
        failoverPriority:
        - topology.kubernetes.io/zone
        """, true), PATH + ".failoverPriority[0]");

    assertThat(problem.message()).contains("can not simultaneously set 'failover' and topology label");
  }

  @Test
  void refusesAFailoverPriorityLabelWhoseCallerValueInmeshCannotKnow() {
    Problem problem = errorAt(parse("""
        failoverPriority:
        - topology.istio.io/network
        """, true), PATH + ".failoverPriority[0]");

    assertThat(problem.message()).contains("topology.istio.io/network=<value>");
  }

  @Test
  void readsFailoverPriorityByLocalityLabelsAndByLabelValues() {
    LocalityLbSetting setting = setting(parse("""
        failoverPriority:
        - topology.istio.io/network=network1
        - topology.kubernetes.io/region
        - topology.kubernetes.io/zone
        """, true));

    assertThat(setting.failoverPriority()).containsExactly(
        "topology.istio.io/network=network1", "topology.kubernetes.io/region", "topology.kubernetes.io/zone");
  }

  @Test
  void warnsThatFailoverNeedsOutlierDetection() {
    ParseResult result = parse("""
        failover:
        - from: region1
          to: region2
        """, false);

    assertThat(result.errors()).isEmpty();
    assertThat(result.warnings()).extracting(Problem::field).contains("spec.trafficPolicy.loadBalancer.localityLbSetting");
    assertThat(result.warnings()).extracting(Problem::message)
        .anyMatch(message -> message.contains("outlier detection policy must be provided for failover"));
  }

  @Test
  void readsEnabledFalse() {
    assertThat(setting(parse("enabled: false\n", true)).disabled()).isTrue();
    assertThat(List.of(setting(parse("enabled: true\n", true)).disabled())).containsExactly(false);
  }
}
