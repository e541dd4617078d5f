package dev.inmesh.testing;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.xds.XdsServerBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An unmodified proxyless gRPC server (grpc-xds {@code XdsServerBuilder}) serving the greeter. It
 * registers itself through its own ADS stream, whose node metadata describes the workload, and
 * takes its inbound listener (and so its authorization) from mesh-control.
 */
public final class XdsGreeterServer implements AutoCloseable {
  public static final String LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";

  private final Server server;
  private final int port;

  private XdsGreeterServer(Server server, int port) {
    this.server = server;
    this.port = port;
  }

  public static XdsGreeterServer start(String controlAddress, String service, String namespace, int servicePort,
      String version) throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Map<String, Object> metadata = Map.of(
        "INMESH_SERVICE", service,
        "NAMESPACE", namespace,
        "INSTANCE_IPS", "127.0.0.1",
        "SERVICE_ACCOUNT", service,
        "LABELS", Map.of("app", service, "version", version),
        // numbers as JSON has them: grpc-xds turns only doubles, not Java ints, into Struct numbers
        "INMESH_PORTS", List.of(Map.of("name", "grpc", "port", (double) servicePort, "targetPort", (double) port,
            "protocol", "GRPC")));
    Map<String, Object> bootstrap = Map.of(
        "xds_servers", List.of(Map.of(
            "server_uri", controlAddress,
            "channel_creds", List.of(Map.of("type", "insecure")),
            "server_features", List.of("xds_v3"))),
        "node", Map.of("id", service + "-" + version + "-" + port, "metadata", metadata),
        "server_listener_resource_name_template", LISTENER_TEMPLATE);
    Server server = XdsServerBuilder.forPort(port, InsecureServerCredentials.create())
        .overrideBootstrapForTest(bootstrap)
        .addService(Greeter.service(version, Duration.ZERO))
        .build()
        .start();
    return new XdsGreeterServer(server, port);
  }

  public int port() {
    return port;
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
