package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The real parts in one JVM: mesh-control with its embedded CA, greeter workloads that are a
 * {@link Mesh} plus a {@link MeshGrpc#server}, and client Meshes with {@link MeshGrpc#channel}s.
 */
final class GrpcMesh implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(20);
  /** How long grpc-xds may take to apply what it has ACKed; see {@link #awaitConverged()}. */
  private static final Duration SETTLE = Duration.ofMillis(200);
  final MeshControl control;
  /** Every Mesh's meters, as one Prometheus endpoint would gather them. */
  final io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  GrpcMesh() throws IOException {
    control = MeshControl.start(MeshControlOptions.ephemeral().withGracePeriod(Duration.ofSeconds(2))
        .withPollInterval(Duration.ofMillis(100)));
  }

  /** A greeter workload: its answers are "{@code version}: hello name" unless told to fail. */
  final class Backend implements AutoCloseable {
    final String version;
    final Mesh mesh;
    final Server server;
    final AtomicInteger calls = new AtomicInteger();
    final AtomicReference<Status> failWith = new AtomicReference<>();
    /** The SPIFFE ID of the last caller's certificate, "none" for plaintext. */
    final AtomicReference<String> lastPeer = new AtomicReference<>();

    Backend(String service, String version, Mesh.Builder builder, int port) throws IOException {
      this.version = version;
      this.mesh = builder.build();
      ServerServiceDefinition definition = ServerServiceDefinition.builder(Greeter.SERVICE)
          .addMethod(Greeter.SAY_HELLO, ServerCalls.asyncUnaryCall((name, response) -> {
            calls.incrementAndGet();
            Status failure = failWith.get();
            if (failure != null) {
              response.onError(failure.asRuntimeException());
              return;
            }
            response.onNext(version + ": hello " + name);
            response.onCompleted();
          }))
          .build();
      io.grpc.ServerInterceptor peers = new io.grpc.ServerInterceptor() {
        @Override
        public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, A> call, io.grpc.Metadata headers,
            io.grpc.ServerCallHandler<Q, A> next) {
          javax.net.ssl.SSLSession session = call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_SSL_SESSION);
          String peer = "none";
          if (session != null) {
            try {
              peer = dev.inmesh.identity.SpiffeId.of((java.security.cert.X509Certificate) session.getPeerCertificates()[0])
                  .map(Object::toString).orElse("no spiffe id");
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
              peer = "unverified";
            }
          }
          lastPeer.set(peer);
          return next.startCall(call, headers);
        }
      };
      this.server = MeshGrpc.server(mesh, port, io.grpc.ServerInterceptors.intercept(definition, peers)).start();
    }

    @Override
    public void close() throws InterruptedException {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
      mesh.close();
    }
  }

  Backend backend(String service, String version, boolean certificate) throws IOException {
    return backend(service, version, certificate, dev.inmesh.Locality.UNKNOWN);
  }

  /** A greeter workload that runs in {@code locality}. */
  Backend backend(String service, String version, boolean certificate, dev.inmesh.Locality locality)
      throws IOException {
    int port = freePort();
    Mesh.Builder builder = Mesh.builder().controlServers(xds()).namespace("default").meterRegistry(registry)
        .locality(locality)
        .service(service).serviceAccount(service).label("app", service).label("version", version)
        .servePort("grpc", 9000, port);
    if (certificate) {
      withCertificate(builder, service);
    }
    Backend backend = new Backend(service, version, builder, port);
    closeables.add(backend);
    return backend;
  }

  Mesh client(String serviceAccount, boolean certificate) {
    return client(serviceAccount, certificate, dev.inmesh.Locality.UNKNOWN);
  }

  /** A client Mesh that runs in {@code locality}; its gRPC channels tell grpc-xds so in their node. */
  Mesh client(String serviceAccount, boolean certificate, dev.inmesh.Locality locality) {
    Mesh.Builder builder = Mesh.builder().controlServers(xds()).namespace("default").meterRegistry(registry)
        .locality(locality)
        .serviceAccount(serviceAccount);
    if (certificate) {
      withCertificate(builder, serviceAccount);
    }
    Mesh mesh = builder.build();
    closeables.add(mesh);
    return mesh;
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

  void delete(String kind, String name) {
    control.delete("test", List.of(new ResourceKey(kind, "default", name)));
    awaitConverged();
  }

  /**
   * Waits until every client has ACKed the config, then a moment more: grpc-xds ACKs a resource
   * when it has read it and hands it to its channels' resolvers on their own executors, so a call
   * made the instant the last ACK lands can still be routed by the previous config (a test saw 2
   * of 50 calls go the old way). There is no public signal for "applied"; 200 ms is far more than
   * the hand-off takes.
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
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().getCode().toString();
    }
  }

  static Map<String, Integer> split(ManagedChannel channel, int calls, Map<String, String> headers) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      counts.merge(call(channel, headers), 1, Integer::sum);
    }
    return counts;
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
