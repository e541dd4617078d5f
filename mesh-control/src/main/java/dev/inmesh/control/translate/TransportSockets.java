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
    DownstreamTlsContext context = DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(common(CertificateValidationContext.newBuilder()))
        .setRequireClientCertificate(BoolValue.of(true))
        .build();
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(context)).build();
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
