package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import dev.inmesh.internal.model.TlsOrigination;
import dev.inmesh.internal.model.UpstreamTls;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The file-based UpstreamTlsContext of TLS origination, as an Inmesh client takes it or refuses it. */
class OriginationParserTest {
  private static final DataSource CA = DataSource.newBuilder().setFilename("/etc/partner/ca.pem").build();

  @Test
  void readsIstiosTypedAutoSniAndTheFilesOfMutual() throws Exception {
    UpstreamTlsContext context = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .addTlsCertificates(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setFilename("client.pem"))
            .setPrivateKey(DataSource.newBuilder().setFilename("client-key.pem")))
        .setValidationContext(CertificateValidationContext.newBuilder().setTrustedCa(CA))).build();
    Cluster cluster = cluster(context).toBuilder().putTypedExtensionProtocolOptions(OriginationParser.HTTP_PROTOCOL_OPTIONS,
        Any.pack(HttpProtocolOptions.newBuilder().setUpstreamHttpProtocolOptions(UpstreamHttpProtocolOptions.newBuilder()
            .setAutoSni(true).setAutoSanValidation(true)).build())).build();

    UpstreamTls tls = ClusterParser.parse(cluster).tls().orElseThrow();

    TlsOrigination origination = tls.origination().orElseThrow();
    assertThat(origination.clientCertificate()).contains(new TlsOrigination.ClientCertificate(Path.of("client.pem"),
        Path.of("client-key.pem")));
    assertThat(origination.trust()).isEqualTo(new TlsOrigination.CaFile(Path.of("/etc/partner/ca.pem")));
    assertThat(origination.autoSni()).isTrue();
    assertThat(origination.autoSanValidation()).isTrue();
    assertThat(tls.meshMutualTls()).isFalse();
    assertThat(tls.identities()).isEmpty();
  }

  @Test
  void refusesSecretsOverSdsAndInlineFilesNamingTheField() {
    UpstreamTlsContext sds = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("file-cert:a~b"))
        .setValidationContext(CertificateValidationContext.newBuilder().setTrustedCa(CA))).build();
    UpstreamTlsContext inline = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .setValidationContext(CertificateValidationContext.newBuilder()
            .setTrustedCa(DataSource.newBuilder().setInlineString("-----BEGIN CERTIFICATE-----")))).build();

    assertThatThrownBy(() -> ClusterParser.parse(cluster(sds))).hasMessageContaining("common_tls_context")
        .hasMessageContaining("SDS");
    assertThatThrownBy(() -> ClusterParser.parse(cluster(inline))).hasMessageContaining("validation_context.trusted_ca")
        .hasMessageContaining("only a filename");
  }

  @Test
  void acceptUntrustedChecksNoNameAndAClientCertificateAloneNamesNoTrust() throws Exception {
    UpstreamTlsContext insecure = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .setValidationContext(CertificateValidationContext.newBuilder()
            .setTrustChainVerification(CertificateValidationContext.TrustChainVerification.ACCEPT_UNTRUSTED))).build();
    UpstreamTlsContext noTrust = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .addTlsCertificates(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setFilename("client.pem"))
            .setPrivateKey(DataSource.newBuilder().setFilename("client-key.pem")))).build();

    assertThat(ClusterParser.parse(cluster(insecure)).tls().orElseThrow().origination().orElseThrow().trust())
        .isInstanceOf(TlsOrigination.AnyServer.class);
    assertThatThrownBy(() -> ClusterParser.parse(cluster(noTrust))).hasMessageContaining("trusted_ca, system_root_certs");
  }

  private static Cluster cluster(UpstreamTlsContext context) {
    return Cluster.newBuilder().setName("outbound|80||api.partner.example").setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder()
            .setEdsConfig(ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(context)))
        .build();
  }
}
