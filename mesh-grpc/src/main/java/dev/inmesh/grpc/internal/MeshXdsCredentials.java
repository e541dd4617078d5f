package dev.inmesh.grpc.internal;

import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.RootsTrustManager;
import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import java.util.Map;

/**
 * The bootstrap channel credentials {@value #NAME}: grpc-xds's own xDS client speaks mutual TLS to
 * mesh-control with the workload's certificate from its {@link CertificateManager} (named by the
 * config's {@value MeshCertificateProviders#MANAGER_KEY}, as for {@link MeshCertificateProviders}),
 * and checks the server by name against the mesh roots. grpc-xds finds it through
 * {@code META-INF/services}; this uses its {@code XdsCredentialsProvider} API, pinned to the grpc
 * version of the BOM.
 */
public final class MeshXdsCredentials extends XdsCredentialsProvider {
  public static final String NAME = "inmesh_mtls";

  @Override
  protected ChannelCredentials newChannelCredentials(Map<String, ?> config) {
    Object key = config == null ? null : config.get(MeshCertificateProviders.MANAGER_KEY);
    CertificateManager manager = MeshCertificateProviders.manager(key).orElseThrow(() -> new IllegalArgumentException(
        "channel credentials " + NAME + ": no CertificateManager registered as '" + key + "'; build channels and"
            + " servers with MeshGrpc"));
    return TlsChannelCredentials.newBuilder()
        .keyManager(manager.keyManager())
        .trustManager(new RootsTrustManager(manager::trustAnchors))
        .build();
  }

  @Override
  protected String getName() {
    return NAME;
  }

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int priority() {
    return 5;
  }
}
