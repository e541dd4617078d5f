package dev.inmesh.gateway;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import java.time.Duration;
import java.util.List;

/** What the gateway ITs share: a workload's identity from the test's mesh-control and CA, and the order things close in. */
final class GatewayItSupport {
  private GatewayItSupport() {}

  /** {@code builder} as a workload of {@code namespace}/{@code serviceAccount} of {@code control}'s mesh, with a join token. */
  static Mesh.Builder identity(MeshControl control, Mesh.Builder builder, String namespace, String serviceAccount) {
    builder.controlServers("127.0.0.1:" + control.xdsPort()).namespace(namespace).serviceAccount(serviceAccount)
        .readyTimeout(Duration.ofSeconds(20));
    control.ca().ifPresent(authority -> builder.certificateAuthority("127.0.0.1:" + control.caGrpcPort(),
        authority.trustBundle().toPem(), authority.joinTokens().create(namespace, serviceAccount, Duration.ofMinutes(10)).value()));
    return builder;
  }

  /** Closes the gateway first, then what the test opened, newest first, then mesh-control; each may be null. */
  static void closeAll(MeshGateway gateway, List<AutoCloseable> closeables, MeshControl control) throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    if (control != null) {
      control.close();
    }
  }
}
