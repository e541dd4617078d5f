package dev.inmesh.control;

import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.GreeterBackend;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A real mesh-control on loopback with a config directory, real greeter backends that register
 * themselves, and unmodified grpc-xds clients: the parts the integration tests share.
 */
final class MeshFixture implements AutoCloseable {
  static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: greeter
      spec:
        host: greeter
        subsets:
        - name: v1
          labels:
            version: v1
        - name: v2
          labels:
            version: v2
      """;

  final Path configDir;
  final MeshControl control;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private int clients;

  MeshFixture(Path configDir, Duration gracePeriod) throws IOException {
    this.configDir = configDir;
    this.control = MeshControl.start(MeshControlOptions.ephemeral()
        .withConfigDir(configDir)
        .withGracePeriod(gracePeriod)
        .withPollInterval(Duration.ofMillis(100))
        .withXdsReadOnlyPort(0));
  }

  /**
   * How workloads reach this mesh-control: they register over mutual TLS with certificates from
   * its CA, and unmodified grpc-xds clients, which have none, read config from its read-only port.
   */
  dev.inmesh.testing.ControlPlaneAccess access() {
    var authority = control.ca().orElseThrow();
    return new dev.inmesh.testing.ControlPlaneAccess(xdsAddress(), java.util.Optional.of(readOnlyAddress()),
        java.util.Optional.of(new dev.inmesh.testing.ControlPlaneAccess.Ca("127.0.0.1:" + control.caGrpcPort(),
            authority.trustBundle().toPem(),
            (namespace, account) -> authority.joinTokens().create(namespace, account, Duration.ofMinutes(10)).value())));
  }

  String readOnlyAddress() {
    return "127.0.0.1:" + control.xdsReadOnlyPort().getAsInt();
  }

  String xdsAddress() {
    return "127.0.0.1:" + control.xdsPort();
  }

  GreeterBackend backend(String version) throws IOException {
    return backend(version, Duration.ZERO);
  }

  GreeterBackend backend(String version, Duration delay) throws IOException {
    GreeterBackend backend = GreeterBackend.start(access(), "greeter", "default", 9000, version, delay);
    closeables.add(backend);
    return backend;
  }

  ManagedChannel client() {
    ManagedChannel channel = XdsClients.channel(readOnlyAddress(), "client-" + ++clients, "default", "greeter:9000");
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  /** Writes a config file and waits until mesh-control has read it and every client holds it. */
  void write(String file, String yaml) {
    writeWithoutWaitingForClients(file, yaml);
    await(control::converged, Duration.ofSeconds(15), "every client to ACK the new config");
  }

  /** Writes a config file and waits until mesh-control has read it; for configs clients NACK. */
  void writeWithoutWaitingForClients(String file, String yaml) {
    try {
      Files.writeString(configDir.resolve(file), yaml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    control.rescan();
  }

  /** Waits until the registry holds {@code count} greeter workloads. */
  void awaitWorkloads(int count) {
    await(() -> control.workloads().size() == count, Duration.ofSeconds(10), "registry to hold " + count + " workloads");
  }

  /** Counts which version answered, over {@code calls} calls; failures count under their status code. */
  static Map<String, Integer> split(ManagedChannel channel, int calls, Map<String, String> headers) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      String outcome;
      try {
        outcome = Greeter.versionOf(Greeter.sayHello(channel, "mesh", headers, Duration.ofSeconds(5)));
      } catch (StatusRuntimeException e) {
        outcome = e.getStatus().getCode().name();
      }
      counts.merge(outcome, 1, Integer::sum);
    }
    return counts;
  }

  /** Calls until one call answers with {@code version}, so that config is known to have arrived. */
  static void awaitAnswerFrom(ManagedChannel channel, String version, Map<String, String> headers) {
    await(() -> {
      try {
        return Greeter.versionOf(Greeter.sayHello(channel, "mesh", headers, Duration.ofSeconds(2))).equals(version);
      } catch (StatusRuntimeException e) {
        return false;
      }
    }, Duration.ofSeconds(20), "an answer from " + version);
  }

  static void await(Supplier<Boolean> condition, Duration timeout, String what) {
    dev.inmesh.testing.Await.until(condition::get, timeout, what);
  }

  @Override
  public void close() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    control.close();
  }
}
