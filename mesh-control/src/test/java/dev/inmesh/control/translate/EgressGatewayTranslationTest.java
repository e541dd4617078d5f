package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.internal.xds.XdsDecoder;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Istio's egress gateway: mesh clients route an external host to the gateway's service by the
 * VirtualService's {@code mesh} routes, the gateway routes it on to the external host by the routes
 * bound to its Gateway, and a DestinationRule there makes the gateway originate TLS.
 */
class EgressGatewayTranslationTest {
  private static final ClientProfile EGRESS = new ClientProfile("istio-system", false, true, Locality.UNKNOWN,
      Map.of("istio", "egressgateway", "app", "istio-egressgateway"));
  private static final ClientProfile SLEEP = new ClientProfile("default", false, true);
  private static final String GATEWAY_CLUSTER = "outbound|80|cnn|istio-egressgateway.istio-system.svc.cluster.local";

  /** DNS as a machine with internet access answers for CNN (an address from TEST-NET-1 stands in). */
  private final XdsTranslator translator = new XdsTranslator(
      host -> host.equals("edition.cnn.com") ? List.of("192.0.2.10") : List.of());
  /** The egress gateway as it registers: its Service port 80, taken on 8080 (the pod's targetPort). */
  private final List<Workload> workloads = List.of(new Workload("istio-egressgateway-1", new WorkloadMetadata(
      "istio-egressgateway", "istio-system", "istio-egressgateway", "istio-egressgateway-1",
      Map.of("istio", "egressgateway", "app", "istio-egressgateway"), "127.0.0.1",
      List.of(ServicePort.of("http", 80, 8080)), Locality.UNKNOWN), java.time.Instant.EPOCH));

  @Test
  void istiosTlsOriginationTaskSendsMeshCallsToTheGatewayAndTheGatewayOnOverTls() throws Exception {
    MeshState state = istioTask("traffic-egress-gateway-tls-origination.yaml", "snip_perform_tls_origination_with_an_egress_gateway_");

    Translation mesh = translator.translate(state, SLEEP);
    RouteConfiguration meshRoutes = route(mesh, "edition.cnn.com:80");
    assertThat(meshRoutes.getVirtualHosts(0).getRoutesList()).extracting(r -> r.getRoute().getCluster())
        .as("only the mesh-bound match routes mesh clients: to the gateway's subset").containsExactly(GATEWAY_CLUSTER);
    assertThat(mesh.clusters()).extracting(Cluster::getName).contains(GATEWAY_CLUSTER);
    assertThat(mesh.listeners()).extracting(Listener::getName).noneMatch(n -> n.startsWith("0.0.0.0_"));

    Translation gateway = translator.translate(state, EGRESS);
    assertThat(gateway.listeners()).extracting(Listener::getName).contains("0.0.0.0_80");
    RouteConfiguration gatewayRoutes = route(gateway, "http.80");
    assertThat(gatewayRoutes.getVirtualHostsList()).singleElement().satisfies(host -> {
      assertThat(host.getDomainsList()).containsExactly("edition.cnn.com");
      assertThat(host.getRoutesList()).extracting(r -> r.getRoute().getCluster())
          .as("only the gateway-bound match: on to the external host's port 443").containsExactly("outbound|443||edition.cnn.com");
    });
    Cluster external = gateway.clusters().stream().filter(c -> c.getName().equals("outbound|443||edition.cnn.com"))
        .findFirst().orElseThrow();
    UpstreamTlsContext origination = external.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(origination.getCommonTlsContext().getValidationContext().hasSystemRootCerts())
        .as("SIMPLE without caCertificates: the gateway's system roots verify the external host").isTrue();
    assertThat(origination.getCommonTlsContext().hasTlsCertificateProviderInstance()).as("no mesh certificate to CNN").isFalse();

    for (Translation translation : List.of(mesh, gateway)) {
      assertThat(translation.warnings()).as("nothing of Istio's task left out").isEmpty();
      assertThat(XdsDecoder.refusals(translation.listeners(), translation.routes(), translation.clusters(),
          translation.endpoints())).isEmpty();
    }
  }

  @Test
  void istiosPassthroughEgressGatewayIsLeftOutWithAWarningNamingTheGatewayAndField() throws Exception {
    MeshState state = istioTask("traffic-egress-gateway.yaml", "snip_egress_gateway_for_https_traffic_");

    Translation gateway = translator.translate(state, EGRESS);

    assertThat(gateway.listeners()).extracting(Listener::getName).noneMatch(n -> n.startsWith("0.0.0.0_"));
    assertThat(gateway.warnings()).anySatisfy(problem -> {
      assertThat(problem.toString()).contains("istio-egressgateway");
      assertThat(problem.field()).isEqualTo("spec.servers[0].port.protocol");
      assertThat(problem.message()).contains("TLS");
    });
  }

  @Test
  void anIstioMutualServerTerminatesMeshMtlsWithTheGatewaysOwnCertificate() {
    ParseResult parsed = ConfigParser.defaults().parse("egress.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: istio-egressgateway
        spec:
          selector:
            istio: egressgateway
          servers:
          - port: {number: 80, name: https-port-for-tls-origination, protocol: HTTPS}
            hosts: [api.partner.example]
            tls:
              mode: ISTIO_MUTUAL
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: egressgateway-for-partner
        spec:
          host: istio-egressgateway.istio-system.svc.cluster.local
          subsets:
          - name: partner
            trafficPolicy:
              portLevelSettings:
              - port: {number: 80}
                tls: {mode: ISTIO_MUTUAL, sni: api.partner.example}
        """);
    assertThat(parsed.errors()).isEmpty();
    MeshState state = new MeshState(parsed.resources(), workloads);

    Translation gateway = translator.translate(state, EGRESS);
    var chain = listener(gateway, "0.0.0.0_80").getFilterChains(0);
    assertThat(chain.getFilterChainMatch().getServerNamesList()).containsExactly("api.partner.example");
    var decoded = XdsDecoder.decode(gateway.listeners(), gateway.routes(), gateway.clusters(), gateway.endpoints());
    assertThat(decoded.errors()).isEmpty();
    GatewayListener.ServerTls tls = decoded.resources().listeners().get("0.0.0.0_80").gateway().orElseThrow()
        .servers().get(0).tls().orElseThrow();
    assertThat(tls.mode()).isEqualTo(GatewayListener.Mode.ISTIO_MUTUAL);
    assertThat(gateway.warnings()).isEmpty();

    Translation mesh = translator.translate(state, SLEEP);
    Cluster toGateway = mesh.clusters().stream()
        .filter(c -> c.getName().equals("outbound|80|partner|istio-egressgateway.istio-system.svc.cluster.local"))
        .findFirst().orElseThrow();
    assertThat(toGateway.getTransportSocket().getTypedConfig().is(UpstreamTlsContext.class)).isTrue();
    UpstreamTlsContext upstream = unpack(toGateway);
    assertThat(upstream.getSni()).isEqualTo("api.partner.example");
    assertThat(upstream.getCommonTlsContext().getValidationContext().getMatchSubjectAltNamesList())
        .extracting(m -> m.getExact()).containsExactly("spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway");
  }

  @Test
  void aPlaintextEgressServerIsNotMeshTlsAndItsGatewayIsCalledInPlaintextByAutoMtls() throws Exception {
    MeshState state = istioTask("traffic-egress-gateway-tls-origination.yaml", "snip_perform_tls_origination_with_an_egress_gateway_");

    Cluster toGateway = translator.translate(state, SLEEP).clusters().stream()
        .filter(c -> c.getName().equals(GATEWAY_CLUSTER)).findFirst().orElseThrow();

    // the gateway does not say tlsMode: istio, so auto-mTLS leaves the call plaintext, which is what its plaintext
    // HTTP server on port 80 takes
    assertThat(toGateway.hasTransportSocket()).isFalse();
    assertThat(toGateway.getTransportSocketMatchesList()).isEmpty();
  }

  private MeshState istioTask(String file, String snippetPrefix) throws Exception {
    var path = dev.inmesh.testing.IstioSamples.file("istio-io-tasks/" + file);
    Assumptions.assumeTrue(path.isPresent(), "shared/istio-samples not found beside the repository");
    // the task's own snippets, unmodified; the file also holds other tasks' resources of the same names
    String snippets = String.join("\n---\n", Arrays.stream(Files.readString(path.get()).split("\n---\n"))
        .filter(doc -> doc.contains("# snippet: " + snippetPrefix)).toList());
    ParseResult parsed = ConfigParser.defaults().parse(file, snippets);
    assertThat(parsed.errors()).isEmpty();
    return new MeshState(parsed.resources(), workloads);
  }

  private static UpstreamTlsContext unpack(Cluster cluster) {
    try {
      return cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static Listener listener(Translation translation, String name) {
    return translation.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow(
        () -> new AssertionError("no listener " + name + " in " + translation.listeners().stream().map(Listener::getName).toList()));
  }

  private static RouteConfiguration route(Translation translation, String name) {
    return translation.routes().stream().filter(r -> r.getName().equals(name)).findFirst().orElseThrow(
        () -> new AssertionError("no route configuration " + name + " in "
            + translation.routes().stream().map(RouteConfiguration::getName).toList()));
  }
}
