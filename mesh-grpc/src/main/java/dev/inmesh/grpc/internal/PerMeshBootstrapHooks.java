package dev.inmesh.grpc.internal;

import io.grpc.NameResolverProvider;
import io.grpc.xds.XdsNameResolverProvider;
import io.grpc.xds.XdsServerBuilder;
import java.util.Map;

/**
 * The only place Inmesh calls grpc-xds's bootstrap hooks that grpc-java names "for test". They are
 * public API, but grpc-java keeps no promise about them; this class is what to change if they go.
 *
 * <p>Why Inmesh uses them: grpc-xds's supported configuration is one bootstrap per process, read
 * once (a file named by {@code GRPC_XDS_BOOTSTRAP} or {@code io.grpc.xds.bootstrap}, or JSON in
 * {@code GRPC_XDS_BOOTSTRAP_CONFIG} or {@code io.grpc.xds.bootstrapConfig}), and its maintainers
 * mean it to stay so (grpc/grpc-java#7819). A bootstrap carries the node, that is whose workload
 * the channel speaks for, and the certificate provider, that is which workload certificate it
 * presents. A {@code Mesh} is one workload, and one process may hold several (a gateway and its
 * backends in one JVM, every integration test): a process-wide bootstrap would make every Mesh's
 * channels speak for the first Mesh and present its certificate. Per-channel and per-server
 * bootstraps exist only as {@link XdsNameResolverProvider#createForTest} and
 * {@link XdsServerBuilder#overrideBootstrapForTest}; the other way in,
 * {@code XdsNameResolverProvider.XDS_CLIENT_SUPPLIER} with {@code InternalSharedXdsClientPoolProvider},
 * is {@code @Internal}. docs/grpc.md says the same for users.
 */
public final class PerMeshBootstrapHooks {
  private PerMeshBootstrapHooks() {}

  /** A resolver for {@code scheme}{@code :///host:port} targets whose xDS client reads {@code bootstrap}. */
  public static NameResolverProvider resolverProvider(String scheme, Map<String, ?> bootstrap) {
    return XdsNameResolverProvider.createForTest(scheme, bootstrap);
  }

  /** {@code builder}, its xDS client reading {@code bootstrap} rather than the process's. */
  public static XdsServerBuilder withBootstrap(XdsServerBuilder builder, Map<String, ?> bootstrap) {
    return builder.overrideBootstrapForTest(bootstrap);
  }
}
