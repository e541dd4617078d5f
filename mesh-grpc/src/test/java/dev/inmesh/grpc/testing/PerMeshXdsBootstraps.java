package dev.inmesh.grpc.testing;

import dev.inmesh.grpc.spi.XdsBootstraps;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.xds.XdsNameResolverProvider;
import io.grpc.xds.XdsServerBuilder;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A grpc-xds bootstrap per Mesh, for a JVM that holds several workloads: mesh-grpc's and the
 * examples' tests, where every test starts its own. Found with {@link java.util.ServiceLoader} on
 * the test class path ({@code META-INF/services/dev.inmesh.grpc.spi.XdsBootstraps}).
 *
 * <p>grpc-xds's supported bootstrap is one per process (grpc/grpc-java#7819); a bootstrap per
 * channel or server exists only as {@link XdsNameResolverProvider#createForTest} and {@link
 * XdsServerBuilder#overrideBootstrapForTest}, which grpc-java keeps for tests and makes no promise
 * about. That is why this lives in test code and main code has no such call
 * ({@code GrpcXdsTestHooksStayInTestsTest}).
 */
public final class PerMeshXdsBootstraps implements XdsBootstraps {
  private static final AtomicInteger SCHEMES = new AtomicInteger();

  @Override
  public Binding bind(String workload, Map<String, ?> bootstrap) {
    // one resolver scheme, so one xDS node, for all the Mesh's channels
    String scheme = "inmesh-xds-" + SCHEMES.incrementAndGet();
    NameResolverProvider resolver = XdsNameResolverProvider.createForTest(scheme, bootstrap);
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    return new Binding() {
      @Override
      public String channelTarget(String authority) {
        return scheme + ":///" + authority;
      }

      @Override
      public XdsServerBuilder configure(XdsServerBuilder builder) {
        return builder.overrideBootstrapForTest(bootstrap);
      }

      @Override
      public void release() {
        NameResolverRegistry.getDefaultRegistry().deregister(resolver);
      }
    };
  }
}
