package dev.inmesh.examples.httpgrpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.grpc.MeshGrpc;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * mesh-control with its embedded CA in this JVM, for workloads that mix HTTP and gRPC: each test
 * builds its {@link Mesh}es with {@link #withCertificate} and dials gRPC with {@link #channel}.
 * The part of mesh-grpc's own test fixture that these tests use.
 */
final class GrpcMesh implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(20);
  /** How long grpc-xds may take to apply what it has ACKed; see {@link #awaitConverged()}. */
  private static final Duration SETTLE = Duration.ofMillis(200);
  private final MeshControl control;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  GrpcMesh() throws IOException {
    control = MeshControl.start(MeshControlOptions.ephemeral().withGracePeriod(Duration.ofSeconds(2))
        .withPollInterval(Duration.ofMillis(100)));
  }

  Mesh.Builder withCertificate(Mesh.Builder builder, String serviceAccount) {
    var ca = control.ca().orElseThrow();
    String token = ca.joinTokens().create("default", serviceAccount, Duration.ofMinutes(10)).value();
    return builder.certificateAuthority("127.0.0.1:" + control.caGrpcPort(), ca.trustBundle().toPem(), token);
  }

  ManagedChannel channel(Mesh mesh, String target) {
    ManagedChannel channel = MeshGrpc.channel(mesh, target);
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  /** Applies config through the API and waits until every client has ACKed it. */
  void apply(String yaml) {
    ApplyResult result = control.apply("test", yaml);
    assertThat(result.errors()).as("errors applying\n%s", yaml).isEmpty();
    awaitConverged();
  }

  /**
   * Waits until every client has ACKed the config, then a moment more: grpc-xds ACKs a resource
   * when it has read it and hands it to its channels' resolvers on their own executors, so a call
   * made the instant the last ACK lands can still be routed by the previous config. There is no
   * public signal for "applied"; 200 ms is far more than the hand-off takes.
   */
  void awaitConverged() {
    Await.until(control::converged, WAIT, "every client to ACK the config");
    Await.sleep(SETTLE);
  }

  void awaitWorkloads(int count) {
    Await.until(() -> control.workloads().size() == count, WAIT, count + " registered workloads");
  }

  String xds() {
    return "127.0.0.1:" + control.xdsPort();
  }

  /** Calls sayHello and returns the answering version, or the status code of a failure. */
  static String call(ManagedChannel channel, Map<String, String> headers) {
    try {
      return Greeter.versionOf(Greeter.sayHello(channel, "x", headers, Duration.ofSeconds(5)));
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode().toString();
    }
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    control.close();
  }
}
