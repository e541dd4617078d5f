package dev.inmesh.testing;

import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real greeter gRPC server on a free loopback port that registers itself with mesh-control as
 * one version of a service, the way a workload joins the mesh.
 */
public final class GreeterBackend implements AutoCloseable {
  private final Server server;
  private final ControlPlaneAccess.Channel controlChannel;
  private final WorkloadRegistration registration;
  private final String version;

  private GreeterBackend(Server server, ControlPlaneAccess.Channel controlChannel, WorkloadRegistration registration,
      String version) {
    this.server = server;
    this.controlChannel = controlChannel;
    this.registration = registration;
    this.version = version;
  }

  /**
   * Starts a backend of {@code service} in {@code namespace} that answers as {@code version}
   * after {@code delay}; clients dial it as {@code service:servicePort}.
   */
  public static GreeterBackend start(ControlPlaneAccess control, String service, String namespace, int servicePort,
      String version, Duration delay) throws IOException {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(Greeter.service(version, delay))
        .build()
        .start();
    // registers as the service account named after the service, over mutual TLS when there is a CA
    ControlPlaneAccess.Channel channel = control.channel(namespace, service);
    WorkloadMetadata metadata = new WorkloadMetadata(service, namespace, service, service + "-" + version,
        Map.of("app", service, "version", version), "127.0.0.1",
        List.of(ServicePort.of("grpc", servicePort, server.getPort())), null);
    return new GreeterBackend(server, channel, WorkloadRegistration.start(List.of(channel.channel()), metadata), version);
  }

  public int port() {
    return server.getPort();
  }

  public String version() {
    return version;
  }

  /** Stops serving and leaves the mesh (after mesh-control's grace period). */
  @Override
  public void close() throws InterruptedException {
    registration.close();
    controlChannel.close();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
