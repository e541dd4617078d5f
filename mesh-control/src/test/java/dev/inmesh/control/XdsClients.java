package dev.inmesh.control;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolverRegistry;
import io.grpc.xds.XdsNameResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Unmodified grpc-java xDS clients pointed at a mesh-control. Each bootstrap gets its own target
 * scheme, because grpc-xds reads the process-wide bootstrap only once; the scheme is the only
 * difference from a plain {@code xds:///host:port} channel. Test code: grpc-xds keeps the
 * per-channel bootstrap hook for tests, and no main code calls it (mesh-grpc's
 * {@code GrpcXdsTestHooksStayInTestsTest}).
 */
public final class XdsClients {
  private static final AtomicInteger SCHEMES = new AtomicInteger();

  private XdsClients() {}

  /** The bootstrap a grpc-xds client needs: the server, the node, and its namespace. */
  public static Map<String, Object> bootstrap(String controlAddress, String nodeId, String namespace) {
    return Map.of(
        "xds_servers", List.of(Map.of(
            "server_uri", controlAddress,
            "channel_creds", List.of(Map.of("type", "insecure")),
            "server_features", List.of("xds_v3"))),
        "node", Map.of(
            "id", nodeId,
            "metadata", Map.of("NAMESPACE", namespace)));
  }

  /** A channel to {@code xds:///<authority>} through its own bootstrap. */
  public static ManagedChannel channel(String controlAddress, String nodeId, String namespace, String authority) {
    String scheme = "xds-test-" + SCHEMES.incrementAndGet();
    NameResolverRegistry.getDefaultRegistry()
        .register(XdsNameResolverProvider.createForTest(scheme, bootstrap(controlAddress, nodeId, namespace)));
    return ManagedChannelBuilder.forTarget(scheme + ":///" + authority).usePlaintext().build();
  }
}
