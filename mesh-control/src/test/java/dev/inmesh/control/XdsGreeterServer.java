package dev.inmesh.control;

import dev.inmesh.testing.ControlPlaneAccess;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.WorkloadRegistration;
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
 * takes its inbound listener (and so its authorization) from mesh-control over its own ADS
 * stream, which has no certificate, so it reads from the read-only port (or the plaintext port of
 * a mesh-control without a CA); the workload is registered beside it over mutual TLS, as a sidecar
 * agent would register it. Test code: grpc-xds keeps the per-server bootstrap hook for tests,
 * and no main code calls it (mesh-grpc's {@code GrpcXdsTestHooksStayInTestsTest}).
 */
public final class XdsGreeterServer implements AutoCloseable {
  public static final String LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";

  private final Server server;
  private final int port;
  private final ControlPlaneAccess.Channel channel;
  private final WorkloadRegistration registration;

  private XdsGreeterServer(Server server, int port, ControlPlaneAccess.Channel channel,
      WorkloadRegistration registration) {
    this.server = server;
    this.port = port;
    this.channel = channel;
    this.registration = registration;
  }

  public static XdsGreeterServer start(ControlPlaneAccess control, String service, String namespace, int servicePort,
      String version) throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Map<String, Object> metadata = Map.of("NAMESPACE", namespace);
    Map<String, Object> bootstrap = Map.of(
        "xds_servers", List.of(Map.of(
            "server_uri", control.readOnlyAddress(),
            "channel_creds", List.of(Map.of("type", "insecure")),
            "server_features", List.of("xds_v3"))),
        "node", Map.of("id", service + "-" + version + "-" + port, "metadata", metadata),
        "server_listener_resource_name_template", LISTENER_TEMPLATE);
    // registered first: the server starts serving once mesh-control sends its listener, which it
    // makes for registered workloads
    ControlPlaneAccess.Channel channel = control.channel(namespace, service);
    var registration = WorkloadRegistration.start(List.of(channel.channel()),
        new dev.inmesh.internal.xds.WorkloadMetadata(service, namespace, service, service + "-" + version,
            Map.of("app", service, "version", version), "127.0.0.1",
            List.of(dev.inmesh.internal.model.ServicePort.of("grpc", servicePort, port)), null));
    Server server = XdsServerBuilder.forPort(port, InsecureServerCredentials.create())
        .overrideBootstrapForTest(bootstrap)
        .addService(Greeter.service(version, Duration.ZERO))
        .build()
        .start();
    return new XdsGreeterServer(server, port, channel, registration);
  }

  public int port() {
    return port;
  }

  @Override
  public void close() throws InterruptedException {
    registration.close();
    channel.close();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
