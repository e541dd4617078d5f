package dev.inmesh.control.translate;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateProviderPluginInstance;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.Collection;

/**
 * The TLS transport sockets of mesh mutual TLS, in the shape Istio sends proxyless gRPC: the
 * workload's own certificate and the mesh roots come from certificate provider instances (gRFC
 * A29) named {@value #PROVIDER_INSTANCE}, certificates {@value #IDENTITY_CERTIFICATE} and
 * {@value #ROOT_CERTIFICATE}; a client checks the server's SPIFFE ID against the identities of the
 * destination, never against a host name. Inmesh clients read the same fields.
 */
public final class TransportSockets {
  public static final String TLS = "envoy.transport_sockets.tls";
  public static final String PROVIDER_INSTANCE = "default";
  public static final String IDENTITY_CERTIFICATE = "default";
  public static final String ROOT_CERTIFICATE = "ROOTCA";

  private TransportSockets() {}

  /** A server's side: present the workload certificate and require a client certificate from a mesh root. */
  public static TransportSocket downstream() {
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(meshServerTls())).build();
  }

  /** The server side of mesh mTLS: the workload certificate, a client certificate required and verified against the mesh roots. */
  public static DownstreamTlsContext meshServerTls() {
    return DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(common(CertificateValidationContext.newBuilder()))
        .setRequireClientCertificate(BoolValue.of(true))
        .build();
  }

  /** A client's side: present the workload certificate and accept only a server with one of {@code identities}. */
  public static TransportSocket upstream(Collection<String> identities, String sni) {
    CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
    identities.forEach(id -> validation.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(id)));
    UpstreamTlsContext.Builder context = UpstreamTlsContext.newBuilder().setCommonTlsContext(common(validation));
    if (!sni.isEmpty()) {
      context.setSni(sni);
    }
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(context.build())).build();
  }

  /**
   * TLS the client originates (a DestinationRule's SIMPLE or MUTUAL), in Envoy's file-based shape:
   * the files are on the client's machine, as they are on the sidecar's in Istio. Without
   * {@code caCertificates} the server is verified against the client's system roots
   * ({@code system_root_certs}), as Istio does (VERIFY_CERTIFICATE_AT_CLIENT); with
   * {@code insecureSkipVerify} any server is accepted ({@code trust_chain_verification: ACCEPT_UNTRUSTED}).
   */
  public static TransportSocket origination(dev.inmesh.control.config.networking.DestinationRule.ClientTls tls) {
    var files = tls.origination();
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    if (tls.mode() == dev.inmesh.control.config.networking.DestinationRule.TlsMode.MUTUAL) {
      common.addTlsCertificates(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate.newBuilder()
          .setCertificateChain(file(files.clientCertificate().orElseThrow()))
          .setPrivateKey(file(files.privateKey().orElseThrow())));
    }
    if (!files.verify()) {
      common.setValidationContext(CertificateValidationContext.newBuilder()
          .setTrustChainVerification(CertificateValidationContext.TrustChainVerification.ACCEPT_UNTRUSTED));
    } else {
      CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
      if (files.caCertificates().isPresent()) {
        validation.setTrustedCa(file(files.caCertificates().get()));
      } else {
        validation.setSystemRootCerts(CertificateValidationContext.SystemRootCerts.getDefaultInstance());
      }
      files.caCrl().ifPresent(crl -> validation.setCrl(file(crl)));
      tls.subjectAltNames().forEach(name -> validation.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(name)));
      common.setValidationContext(validation);
    }
    UpstreamTlsContext.Builder context = UpstreamTlsContext.newBuilder().setCommonTlsContext(common);
    tls.sni().filter(sni -> !sni.isEmpty()).ifPresent(context::setSni);
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(context.build())).build();
  }

  /**
   * Istio's defaults around an originated TLS: without {@code sni} the request's host is sent
   * ({@code auto_sni}), and without {@code subjectAltNames} the server's certificate must name that
   * host ({@code auto_san_validation}), unless nothing is verified.
   */
  public static io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions originationOptions(
      dev.inmesh.control.config.networking.DestinationRule.ClientTls tls) {
    return io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions.newBuilder()
        .setAutoSni(tls.sni().filter(sni -> !sni.isEmpty()).isEmpty())
        .setAutoSanValidation(tls.subjectAltNames().isEmpty() && tls.origination().verify())
        .build();
  }

  private static io.envoyproxy.envoy.config.core.v3.DataSource file(String path) {
    return io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder().setFilename(path).build();
  }

  /**
   * Istio's per-endpoint transport: endpoints marked {@code tlsMode: istio} in their metadata
   * ({@link #MESH_TLS_MARK}) take {@code tls}, the others plaintext, so that endpoints without
   * mTLS do not downgrade the rest of their cluster.
   */
  public static java.util.List<io.envoyproxy.envoy.config.cluster.v3.Cluster.TransportSocketMatch> perEndpoint(
      TransportSocket tls) {
    return java.util.List.of(
        io.envoyproxy.envoy.config.cluster.v3.Cluster.TransportSocketMatch.newBuilder()
            .setName("tlsMode-istio").setMatch(MESH_TLS_MARK).setTransportSocket(tls).build(),
        io.envoyproxy.envoy.config.cluster.v3.Cluster.TransportSocketMatch.newBuilder()
            .setName("tlsMode-disabled").setTransportSocket(TransportSocket.newBuilder()
                .setName("envoy.transport_sockets.raw_buffer")
                .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
                    .getDefaultInstance())))
            .build());
  }

  /** The key of Istio's transport socket match in endpoint metadata. */
  public static final String TRANSPORT_SOCKET_MATCH = "envoy.transport_socket_match";
  /** The mark of an endpoint that speaks mesh mTLS: {@code tlsMode: istio}. */
  public static final com.google.protobuf.Struct MESH_TLS_MARK = com.google.protobuf.Struct.newBuilder()
      .putFields("tlsMode", com.google.protobuf.Value.newBuilder().setStringValue("istio").build()).build();

  private static CommonTlsContext common(CertificateValidationContext.Builder validation) {
    return CommonTlsContext.newBuilder()
        .setTlsCertificateProviderInstance(CertificateProviderPluginInstance.newBuilder()
            .setInstanceName(PROVIDER_INSTANCE)
            .setCertificateName(IDENTITY_CERTIFICATE))
        .setValidationContext(validation.setCaCertificateProviderInstance(CertificateProviderPluginInstance.newBuilder()
            .setInstanceName(PROVIDER_INSTANCE)
            .setCertificateName(ROOT_CERTIFICATE)))
        .build();
  }
}
