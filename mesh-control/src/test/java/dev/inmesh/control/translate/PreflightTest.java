package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.control.source.ConfigController;
import dev.inmesh.control.store.InMemoryConfigStore;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.internal.xds.XdsDecoder;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** mesh-control refuses at apply what its clients would NACK, and holds back what a registry change would make them NACK. */
class PreflightTest {
  private static final String PASSTHROUGH = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: legacy, namespace: default}
      spec:
        hosts: [legacy.example.com]
        ports: [{number: 80, name: http}]
        resolution: NONE
      """;
  /** Istio's destination-rule-all-mtls.yaml in its shape: reviews v2 and v3 have no workload here. */
  private static final String ALL_MTLS = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews, namespace: default}
      spec:
        host: reviews
        trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
        - {name: v3, labels: {version: v3}}
      """;

  private final XdsTranslator translator = new XdsTranslator(host -> List.of(), "cluster.local");
  private final Preflight preflight = new Preflight(translator);
  private final List<Workload> workloads = new ArrayList<>(List.of(workload("default", "reviews", "v1", 9001)));
  private final InMemoryConfigStore store = new InMemoryConfigStore();
  private final ConfigController controller = new ConfigController(store, ConfigParser.defaults(), Clock.systemUTC());

  PreflightTest() {
    controller.checkChangesWith((current, candidate, changed) -> preflight.check(new MeshState(current, workloads),
        new MeshState(candidate, workloads), changed, List.of()));
  }

  @Test
  void anApplyThatClientsWouldNackIsRefusedNamingTheIstioResourceAndFieldAndNothingChanges() {
    ApplyResult result = controller.apply("request", PASSTHROUGH);

    assertThat(result.accepted()).isFalse();
    Problem error = result.errors().get(0);
    assertThat(error.resource()).isEqualTo("ServiceEntry/default/legacy");
    assertThat(error.field()).isEqualTo("spec.resolution");
    assertThat(error.message()).contains("Inmesh HTTP clients").contains("proxyless gRPC clients")
        .contains("CDS outbound|80||legacy.example.com").contains("ORIGINAL_DST");
    assertThat(store.list()).isEmpty();
  }

  @Test
  void aRequestAuthenticationWhoseKeysServersWouldNackIsRefusedNamingItsRules() {
    ApplyResult result = controller.apply("request", """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: {name: jwt, namespace: default}
        spec:
          selector: {matchLabels: {app: reviews}}
          jwtRules:
          - issuer: https://issuer.example.com
            jwks: '{"keys": [{"kty": "RSA", "kid": "no-modulus"}]}'
        """);

    assertThat(result.accepted()).isFalse();
    Problem error = result.errors().get(0);
    assertThat(error.resource()).isEqualTo("RequestAuthentication/default/jwt");
    assertThat(error.field()).isEqualTo("spec.jwtRules");
    assertThat(error.message()).contains("Inmesh servers").contains("local_jwks").contains("not a JWK Set");
    assertThat(store.list()).isEmpty();
  }

  @Test
  void istiosMtlsRuleWithSubsetsThatHaveNoWorkloadIsApplied() {
    ApplyResult result = controller.apply("request", ALL_MTLS);

    assertThat(result.errors()).isEmpty();
    assertThat(store.list()).hasSize(1);
  }

  @Test
  void aFileThatClientsWouldNackIsRefusedAndItsEarlierVersionStays() {
    String vs = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: default}
        spec:
          hosts: [reviews]
          http:
          - route: [{destination: {host: reviews}}]
        """;
    assertThat(controller.applyFile("mesh.yaml", vs).accepted()).isTrue();

    ApplyResult result = controller.applyFile("mesh.yaml", vs + "---\n" + PASSTHROUGH);

    assertThat(result.accepted()).isFalse();
    assertThat(result.errors()).singleElement().satisfies(e -> {
      assertThat(e.source()).isEqualTo("mesh.yaml");
      assertThat(e.resource()).as("the one of the two resources that causes it").isEqualTo("ServiceEntry/default/legacy");
    });
    assertThat(store.list()).extracting(ConfigResource::kind).containsExactly("VirtualService");
  }

  @Test
  void whatWasRefusedBeforeTheChangeDoesNotRefuseIt() {
    MeshState broken = state(PASSTHROUGH);
    MeshState brokenPlusRule = state(PASSTHROUGH, ALL_MTLS);

    assertThat(preflight.check(state(), broken, broken.config(), List.of())).isNotEmpty();
    assertThat(preflight.check(broken, brokenPlusRule, brokenPlusRule.ofKind(
        dev.inmesh.control.config.networking.DestinationRule.class), List.of())).isEmpty();
  }

  @Test
  void everyKindOfClientIsCheckedForEveryNamespaceWithAWorkload() {
    workloads.add(workload("shop", "ratings", "v1", 9002));

    assertThat(Preflight.profiles(new MeshState(List.of(), workloads), List.of("edge;grpc")))
        .extracting(ClientProfile::key)
        .containsExactlyInAnyOrder("default;mtls", "default", "default;grpc;mtls", "shop;mtls", "shop", "shop;grpc;mtls",
            "edge;grpc");
  }

  @Test
  void aResourceClientsWouldNackIsSentAsItWasLastSentOrNotAtAll() {
    Translation published = translator.translate(state(), new ClientProfile("default", false, true));
    Translation fresh = translator.translate(state(PASSTHROUGH), new ClientProfile("default", false, true));
    List<XdsDecoder.Refusal> refused = Preflight.refusals(fresh);
    assertThat(refused).extracting(XdsDecoder.Refusal::name).containsExactly("outbound|80||legacy.example.com");

    Translation kept = Preflight.keepingLastGood(fresh, refused, Optional.of(published));

    assertThat(kept.clusters()).extracting(Cluster::getName).doesNotContain("outbound|80||legacy.example.com")
        .contains("outbound|9080||reviews.default.svc.cluster.local");
    assertThat(Preflight.refusals(kept)).isEmpty();
    assertThat(kept.routes()).hasSameSizeAs(fresh.routes());
  }

  private MeshState state(String... yaml) {
    if (yaml.length == 0) {
      return new MeshState(List.of(), workloads);
    }
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", String.join("\n---\n", yaml));
    assertThat(parsed.errors()).isEmpty();
    return new MeshState(parsed.resources(), workloads);
  }

  private static Workload workload(String namespace, String service, String version, int port) {
    WorkloadMetadata metadata = new WorkloadMetadata(service, namespace, "bookinfo-" + service, service + "-" + version,
        Map.of("app", service, "version", version, "security.istio.io/tlsMode", "istio"), "127.0.0.1",
        List.of(new ServicePort("http", 9080, port, "HTTP")), new Locality("", "", ""));
    return new Workload(service + "-" + port, metadata, Instant.EPOCH);
  }
}
