package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PeerAuthentication on server listeners, and Istio's auto-mTLS and DestinationRule tls on clusters. */
class MutualTlsTranslationTest {
  private static final String TLS_LABEL = "security.istio.io/tlsMode";
  private static final ClientProfile INMESH_WITH_CERTS = new ClientProfile("default", false, true);
  private static final ClientProfile GRPC_WITH_CERTS = new ClientProfile("default", true, true);

  private final XdsTranslator translator = new XdsTranslator(host -> List.of(), "example.org");
  private final List<Workload> workloads = new ArrayList<>(List.of(
      workload("reviews", "reviews-sa", "v1", 9001, true),
      workload("ratings", "default", "v1", 9101, true),
      workload("legacy", "default", "v1", 9201, false)));

  @Test
  void withoutAPolicyEveryPortIsPermissiveInEnvoysShape() throws Exception {
    Listener listener = inbound(translate(INMESH_WITH_CERTS), 9001);

    assertThat(listener.getFilterChainsList()).extracting(c -> c.getFilterChainMatch().getTransportProtocol())
        .containsExactly("tls", "raw_buffer");
    FilterChain tls = listener.getFilterChains(0);
    DownstreamTlsContext context = tls.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
    assertThat(context.getRequireClientCertificate().getValue()).isTrue();
    assertThat(context.getCommonTlsContext().getTlsCertificateProviderInstance().getInstanceName()).isEqualTo("default");
    assertThat(context.getCommonTlsContext().getValidationContext().getCaCertificateProviderInstance().getCertificateName())
        .isEqualTo("ROOTCA");
    assertThat(listener.getFilterChains(1).hasTransportSocket()).isFalse();
  }

  @Test
  void proxylessGrpcGetsPermissiveAsPlaintextBecauseItCannotMatchOnTls() {
    Listener listener = inbound(translate(GRPC_WITH_CERTS), 9001);

    assertThat(listener.getFilterChainsList()).hasSize(1);
    assertThat(listener.getFilterChains(0).hasTransportSocket()).isFalse();
  }

  @Test
  void aMeshWideStrictPolicyIsOverriddenByTheNamespaceThenTheWorkloadThenItsPort() {
    Translation translation = translate(INMESH_WITH_CERTS, """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: istio-system}
        spec: {mtls: {mode: STRICT}}
        """, """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: ratings, namespace: default}
        spec:
          selector: {matchLabels: {app: ratings}}
          mtls: {mode: UNSET}
          portLevelMtls:
            9101: {mode: DISABLE}
        """, """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: legacy, namespace: default}
        spec:
          selector: {matchLabels: {app: legacy}}
          mtls: {mode: PERMISSIVE}
        """);

    assertThat(mode(inbound(translation, 9001))).isEqualTo("STRICT");
    assertThat(mode(inbound(translation, 9101))).isEqualTo("DISABLE");
    assertThat(mode(inbound(translation, 9201))).isEqualTo("PERMISSIVE");
  }

  @Test
  void aClientWithCertificatesCallsMeshWorkloadsOverMutualTlsCheckingTheirSpiffeIds() throws Exception {
    Cluster reviews = cluster(translate(INMESH_WITH_CERTS), "outbound|9080||reviews.default.svc.cluster.local");

    UpstreamTlsContext context = reviews.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(context.getCommonTlsContext().getValidationContext().getMatchSubjectAltNamesList())
        .extracting(m -> m.getExact()).containsExactly("spiffe://example.org/ns/default/sa/reviews-sa");
    assertThat(context.getSni()).as("JSSE servers refuse Istio's non-LDH SNI").isEmpty();
    assertThat(cluster(translate(INMESH_WITH_CERTS), "outbound|9080||legacy.default.svc.cluster.local").hasTransportSocket())
        .as("a workload without tlsMode: istio is called in plaintext").isFalse();
  }

  @Test
  void aClientWithoutCertificatesGetsPlaintextClusters() {
    Cluster reviews = cluster(translate(new ClientProfile("default", false, false)), "outbound|9080||reviews.default.svc.cluster.local");

    assertThat(reviews.hasTransportSocket()).isFalse();
  }

  @Test
  void aDestinationPortUnderDisableIsCalledInPlaintext() {
    Translation translation = translate(INMESH_WITH_CERTS, """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: reviews}
        spec:
          selector: {matchLabels: {app: reviews}}
          mtls: {mode: DISABLE}
        """);

    assertThat(cluster(translation, "outbound|9080||reviews.default.svc.cluster.local").hasTransportSocket()).isFalse();
  }

  @Test
  void aDestinationRuleDecidesOverAutoMtls() throws Exception {
    Translation translation = translate(new ClientProfile("default", false, false), """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: legacy}
        spec:
          host: legacy
          trafficPolicy:
            tls: {mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://example.org/ns/default/sa/legacy"]}
        """, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
          trafficPolicy:
            tls: {mode: DISABLE}
        """);

    UpstreamTlsContext legacy = cluster(translation, "outbound|9080||legacy.default.svc.cluster.local")
        .getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(legacy.getCommonTlsContext().getValidationContext().getMatchSubjectAltNamesList())
        .extracting(m -> m.getExact()).containsExactly("spiffe://example.org/ns/default/sa/legacy");
    assertThat(cluster(translate(INMESH_WITH_CERTS, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
          trafficPolicy:
            tls: {mode: DISABLE}
        """), "outbound|9080||reviews.default.svc.cluster.local").hasTransportSocket()).isFalse();
  }

  @Test
  void anEndpointWithoutMtlsDoesNotDowngradeTheRestOfItsCluster() throws Exception {
    workloads.add(workload("reviews", "plain-sa", "v2", 9002, false));
    Translation translation = translate(INMESH_WITH_CERTS);
    String name = "outbound|9080||reviews.default.svc.cluster.local";
    Cluster reviews = cluster(translation, name);

    // Istio's shape: mTLS for the endpoints marked tlsMode: istio, plaintext for the rest
    assertThat(reviews.hasTransportSocket()).isFalse();
    assertThat(reviews.getTransportSocketMatchesList()).extracting(Cluster.TransportSocketMatch::getName)
        .containsExactly("tlsMode-istio", "tlsMode-disabled");
    Cluster.TransportSocketMatch istio = reviews.getTransportSocketMatches(0);
    assertThat(istio.getMatch().getFieldsMap().get("tlsMode").getStringValue()).isEqualTo("istio");
    UpstreamTlsContext context = istio.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(context.getCommonTlsContext().getValidationContext().getMatchSubjectAltNamesList())
        .as("Istio's SAN list: the service accounts of the whole service").extracting(m -> m.getExact())
        .containsExactly("spiffe://example.org/ns/default/sa/plain-sa", "spiffe://example.org/ns/default/sa/reviews-sa");
    assertThat(reviews.getTransportSocketMatches(1).getTransportSocket().getName())
        .isEqualTo("envoy.transport_sockets.raw_buffer");

    var endpoints = translation.endpoints().stream().filter(e -> e.getClusterName().equals(name)).findFirst().orElseThrow()
        .getEndpoints(0).getLbEndpointsList();
    assertThat(endpoints).hasSize(2);
    assertThat(endpoints).filteredOn(e -> e.getMetadata().getFilterMetadataMap().containsKey("envoy.transport_socket_match"))
        .singleElement().satisfies(e -> assertThat(e.getEndpoint().getAddress().getSocketAddress().getPortValue()).isEqualTo(9001));
    assertThat(translation.warnings()).noneSatisfy(w -> assertThat(w.message()).contains("some endpoints"));
  }

  @Test
  void proxylessGrpcGetsMutualTlsAndOnlyTheEndpointsThatSpeakItFromAMixedCluster() throws Exception {
    workloads.add(workload("reviews", "plain-sa", "v2", 9002, false));
    Translation translation = translate(GRPC_WITH_CERTS, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
        """);
    String name = "outbound|9080||reviews.default.svc.cluster.local";
    Cluster reviews = cluster(translation, name);

    // grpc-java NACKs transport_socket_matches: one transport, mTLS, and no endpoint that would downgrade it
    assertThat(reviews.getTransportSocketMatchesList()).isEmpty();
    UpstreamTlsContext context = reviews.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(context.getCommonTlsContext().getValidationContext().getMatchSubjectAltNamesList())
        .extracting(m -> m.getExact()).contains("spiffe://example.org/ns/default/sa/reviews-sa");
    assertThat(translation.endpoints().stream().filter(e -> e.getClusterName().equals(name)).findFirst().orElseThrow()
        .getEndpoints(0).getLbEndpointsList()).singleElement()
        .satisfies(e -> assertThat(e.getEndpoint().getAddress().getSocketAddress().getPortValue()).isEqualTo(9001));
    assertThat(translation.warnings()).anySatisfy(w -> assertThat(w.message()).contains("some endpoints")
        .contains("proxyless gRPC clients take one transport per cluster, so they get mTLS and only the endpoints"));
  }

  @Test
  void aGrpcPortUnderPermissiveIsCalledInPlaintextBecauseItsServerTakesOnlyPlaintext() {
    workloads.add(new Workload("greeter-1", new WorkloadMetadata("greeter", "default", "greeter", "greeter-v1",
        Map.of("app", "greeter", TLS_LABEL, "istio"), "127.0.0.1", List.of(ServicePort.of("grpc", 9000, 9301)),
        new Locality("", "", "")), Instant.EPOCH));

    assertThat(cluster(translate(GRPC_WITH_CERTS), "outbound|9000||greeter.default.svc.cluster.local").hasTransportSocket())
        .isFalse();
    assertThat(cluster(translate(GRPC_WITH_CERTS, """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default}
        spec: {mtls: {mode: STRICT}}
        """), "outbound|9000||greeter.default.svc.cluster.local").hasTransportSocket()).isTrue();
  }

  @Test
  void aSubsetWithoutWorkloadsUnderIstioMutualTakesTheIdentitiesOfTheWholeService() throws Exception {
    workloads.add(workload("reviews", "reviews-v3-sa", "v3", 9003, true));
    Translation translation = translate(INMESH_WITH_CERTS, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews
          trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
          - {name: v3, labels: {version: v3}}
        """);

    for (String subset : List.of("v1", "v2", "v3")) {
      assertThat(sans(cluster(translation, "outbound|9080|" + subset + "|reviews.default.svc.cluster.local")))
          .as("subset %s, whose members are v1 only, none and v3 only", subset)
          .containsExactly("spiffe://example.org/ns/default/sa/reviews-sa", "spiffe://example.org/ns/default/sa/reviews-v3-sa");
    }
    assertThat(decodeErrors(translation)).isEmpty();
  }

  @Test
  void aServiceWithNoInstanceAsksForAnIdentityNoWorkloadCanHoldRatherThanNone() throws Exception {
    Translation translation = translate(INMESH_WITH_CERTS, """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: ghost}
        spec:
          hosts: [ghost.internal]
          location: MESH_INTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
        """, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: ghost}
        spec:
          host: ghost.internal
          trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
        """);

    assertThat(sans(cluster(translation, "outbound|80||ghost.internal")))
        .containsExactly("spiffe://example.org/ns/default/sa/<no-instance>");
    assertThat(translation.endpoints().stream().filter(e -> e.getClusterName().equals("outbound|80||ghost.internal"))
        .findFirst().orElseThrow().getEndpointsList()).isEmpty();
    assertThat(decodeErrors(translation)).isEmpty();
  }

  @Test
  void aServiceEntrysSubjectAltNamesJoinTheIdentitiesOfItsWorkloads() throws Exception {
    Translation translation = translate(INMESH_WITH_CERTS, """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: vm}
        spec:
          hosts: [vm.internal]
          location: MESH_INTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
          endpoints: [{address: 10.0.0.7, labels: {security.istio.io/tlsMode: istio}, serviceAccount: vm-sa}]
          subjectAltNames: ["spiffe://example.org/ns/vms/sa/legacy"]
        """);

    assertThat(sans(cluster(translation, "outbound|80||vm.internal")))
        .containsExactly("spiffe://example.org/ns/default/sa/vm-sa", "spiffe://example.org/ns/vms/sa/legacy");
  }

  private static List<String> sans(Cluster cluster) throws Exception {
    return cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getCommonTlsContext()
        .getValidationContext().getMatchSubjectAltNamesList().stream().map(m -> m.getExact()).toList();
  }

  private static List<String> decodeErrors(Translation translation) {
    return dev.inmesh.internal.xds.XdsDecoder.decode(translation.listeners(), translation.routes(), translation.clusters(),
        translation.endpoints()).errors();
  }

  @Test
  void profilesRoundTripThroughTheirSnapshotKeys() {
    for (ClientProfile profile : List.of(INMESH_WITH_CERTS, GRPC_WITH_CERTS, ClientProfile.inmesh("prod"),
        new ClientProfile("prod", true, false))) {
      assertThat(ClientProfile.parse(profile.key())).isEqualTo(profile);
    }
  }

  private Translation translate(ClientProfile profile, String... yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", String.join("\n---\n", yaml));
    assertThat(parsed.errors()).isEmpty();
    return translator.translate(new MeshState(parsed.resources(), workloads), profile);
  }

  private static Listener inbound(Translation translation, int port) {
    String name = "grpc/server?xds.resource.listening_address=127.0.0.1:" + port;
    return translation.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
  }

  private static String mode(Listener listener) {
    List<FilterChain> chains = listener.getFilterChainsList();
    if (chains.size() == 2) {
      return "PERMISSIVE";
    }
    return chains.get(0).hasTransportSocket() ? "STRICT" : "DISABLE";
  }

  private static Cluster cluster(Translation translation, String name) {
    return translation.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  private static Workload workload(String service, String serviceAccount, String version, int port, boolean meshTls) {
    Map<String, String> labels = meshTls
        ? Map.of("app", service, "version", version, TLS_LABEL, "istio")
        : Map.of("app", service, "version", version);
    WorkloadMetadata metadata = new WorkloadMetadata(service, "default", serviceAccount, service + "-" + version,
        labels, "127.0.0.1", List.of(new ServicePort("http", 9080, port, "HTTP")), new Locality("", "", ""));
    return new Workload(service + "-" + port, metadata, Instant.EPOCH);
  }
}
