package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.TlsOrigination;
import dev.inmesh.internal.xds.XdsDecoder;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** DestinationRule SIMPLE and MUTUAL: TLS the client originates to a ServiceEntry host, in Envoy's file-based shape. */
class TlsOriginationTranslationTest {
  private static final ClientProfile INMESH = new ClientProfile("default", false, true);
  private static final ClientProfile GRPC = new ClientProfile("default", true, true);
  private static final String SERVICE_ENTRY = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: api}
      spec:
        hosts: [api.partner.example]
        ports:
        - {number: 80, name: http, protocol: HTTP, targetPort: 443}
        - {number: 8080, name: http-alt, protocol: HTTP}
        resolution: STATIC
        endpoints:
        - address: 127.0.0.1
      """;

  private final XdsTranslator translator = new XdsTranslator(host -> List.of(), "cluster.local");

  @Test
  void simpleWithCaCertificatesVerifiesTheServerWithThatFileAndTheListedNames() throws Exception {
    Cluster cluster = cluster(translate(INMESH, SERVICE_ENTRY, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api}
        spec:
          host: api.partner.example
          trafficPolicy:
            tls:
              mode: SIMPLE
              caCertificates: /etc/partner/ca.pem
              caCrl: /etc/partner/crl.pem
              sni: api.partner.example
              subjectAltNames: [api.partner.example]
        """), "outbound|80||api.partner.example");

    UpstreamTlsContext context = cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(context.getSni()).isEqualTo("api.partner.example");
    CertificateValidationContext validation = context.getCommonTlsContext().getValidationContext();
    assertThat(validation.getTrustedCa().getFilename()).isEqualTo("/etc/partner/ca.pem");
    assertThat(validation.getCrl().getFilename()).isEqualTo("/etc/partner/crl.pem");
    assertThat(validation.getMatchSubjectAltNamesList()).extracting(m -> m.getExact()).containsExactly("api.partner.example");
    assertThat(context.getCommonTlsContext().getTlsCertificatesCount()).as("SIMPLE presents no certificate").isZero();
    assertThat(context.getCommonTlsContext().hasTlsCertificateProviderInstance()).as("not the mesh's certificate").isFalse();
    assertThat(cluster.getUpstreamHttpProtocolOptions().getAutoSni()).isFalse();
    assertThat(cluster.getUpstreamHttpProtocolOptions().getAutoSanValidation()).isFalse();

    ClusterConfig held = decoded(cluster);
    TlsOrigination origination = held.tls().orElseThrow().origination().orElseThrow();
    assertThat(origination.trust()).isEqualTo(new TlsOrigination.CaFile(Path.of("/etc/partner/ca.pem")));
    assertThat(origination.crl()).contains(Path.of("/etc/partner/crl.pem"));
    assertThat(held.tls().get().identities()).containsExactly("api.partner.example");
  }

  @Test
  void istiosEgressTaskOriginatesOnPort80OnlyWithTheSystemRootsAndTheRequestsHost() throws Exception {
    Translation translation = translate(INMESH, SERVICE_ENTRY, """
        apiVersion: networking.istio.io/v1alpha3
        kind: DestinationRule
        metadata: {name: api}
        spec:
          host: api.partner.example
          trafficPolicy:
            portLevelSettings:
            - port:
                number: 80
              tls:
                mode: SIMPLE
        """);
    Cluster port80 = cluster(translation, "outbound|80||api.partner.example");
    UpstreamTlsContext context = port80.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);

    assertThat(context.getCommonTlsContext().getValidationContext().hasSystemRootCerts()).isTrue();
    assertThat(context.getSni()).isEmpty();
    assertThat(port80.getUpstreamHttpProtocolOptions().getAutoSni()).isTrue();
    assertThat(port80.getUpstreamHttpProtocolOptions().getAutoSanValidation()).isTrue();
    TlsOrigination origination = decoded(port80).tls().orElseThrow().origination().orElseThrow();
    assertThat(origination.trust()).isInstanceOf(TlsOrigination.SystemRoots.class);
    assertThat(origination.autoSni()).isTrue();
    assertThat(origination.autoSanValidation()).isTrue();
    assertThat(translation.endpoints().stream().filter(e -> e.getClusterName().equals("outbound|80||api.partner.example"))
        .findFirst().orElseThrow().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress()
        .getPortValue()).as("the targetPort").isEqualTo(443);
    Cluster port8080 = cluster(translation, "outbound|8080||api.partner.example");
    assertThat(port8080.hasTransportSocket()).as("the other port stays plaintext").isFalse();
  }

  @Test
  void mutualPresentsTheClientFilesAndInsecureSkipVerifyChecksNothing() throws Exception {
    Cluster cluster = cluster(translate(INMESH, SERVICE_ENTRY, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api}
        spec:
          host: api.partner.example
          trafficPolicy:
            tls:
              mode: MUTUAL
              clientCertificate: /etc/partner/client.pem
              privateKey: /etc/partner/client-key.pem
              insecureSkipVerify: true
        """), "outbound|80||api.partner.example");

    UpstreamTlsContext context = cluster.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(context.getCommonTlsContext().getTlsCertificates(0).getCertificateChain().getFilename())
        .isEqualTo("/etc/partner/client.pem");
    assertThat(context.getCommonTlsContext().getTlsCertificates(0).getPrivateKey().getFilename())
        .isEqualTo("/etc/partner/client-key.pem");
    assertThat(context.getCommonTlsContext().getValidationContext().getTrustChainVerification())
        .isEqualTo(CertificateValidationContext.TrustChainVerification.ACCEPT_UNTRUSTED);
    assertThat(cluster.getUpstreamHttpProtocolOptions().getAutoSanValidation()).isFalse();
    TlsOrigination origination = decoded(cluster).tls().orElseThrow().origination().orElseThrow();
    assertThat(origination.trust()).isInstanceOf(TlsOrigination.AnyServer.class);
    assertThat(origination.clientCertificate()).contains(new TlsOrigination.ClientCertificate(
        Path.of("/etc/partner/client.pem"), Path.of("/etc/partner/client-key.pem")));
  }

  @Test
  void proxylessGrpcClientsGetNoEndpointRatherThanPlaintextAndTheApplyWarnsThem() {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api}
        spec:
          host: api.partner.example
          trafficPolicy:
            tls: {mode: SIMPLE, caCertificates: /etc/partner/ca.pem}
        """;
    ParseResult parsed = parse(SERVICE_ENTRY, rule);
    assertThat(parsed.warnings()).anySatisfy(w -> assertThat(w.field()).endsWith("tls.mode"))
        .anySatisfy(w -> assertThat(w.message()).contains("proxyless gRPC").contains("gRFC A29"));

    Translation translation = translate(GRPC, SERVICE_ENTRY, rule);
    assertThat(cluster(translation, "outbound|80||api.partner.example").hasTransportSocket()).isFalse();
    assertThat(translation.endpoints().stream().filter(e -> e.getClusterName().equals("outbound|80||api.partner.example"))
        .findFirst().orElseThrow().getEndpointsCount()).isZero();
  }

  @Test
  void credentialNameIsRefusedAtApplyNamingTheField() {
    ParseResult parsed = ConfigParser.defaults().parse("egress.yaml", """
        apiVersion: networking.istio.io/v1alpha3
        kind: DestinationRule
        metadata:
          name: originate-mtls-for-nginx
        spec:
          host: my-nginx.mesh-external.svc.cluster.local
          trafficPolicy:
            portLevelSettings:
            - port:
                number: 443
              tls:
                mode: MUTUAL
                credentialName: client-credential
        """);

    assertThat(parsed.errors()).singleElement().satisfies(error -> {
      assertThat(error.field()).endsWith("tls.credentialName");
      assertThat(error.message()).contains("Kubernetes secret").contains("clientCertificate");
    });
  }

  private ParseResult parse(String... yaml) {
    return ConfigParser.defaults().parse("test.yaml", String.join("\n---\n", yaml));
  }

  private Translation translate(ClientProfile profile, String... yaml) {
    ParseResult parsed = parse(yaml);
    assertThat(parsed.errors()).isEmpty();
    return translator.translate(new MeshState(parsed.resources(), List.of()), profile);
  }

  /** The cluster as an Inmesh client holds it; fails if the client would NACK it. */
  private static ClusterConfig decoded(Cluster cluster) {
    XdsDecoder.Decoded decoded = XdsDecoder.decode(List.of(), List.of(), List.of(cluster), List.of());
    assertThat(decoded.errors()).isEmpty();
    return decoded.resources().clusters().get(cluster.getName());
  }

  private static Cluster cluster(Translation translation, String name) {
    return translation.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }
}
