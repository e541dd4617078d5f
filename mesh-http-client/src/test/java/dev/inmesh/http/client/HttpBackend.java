package dev.inmesh.http.client;

import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.WorkloadRegistration;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * A real HTTP backend (MockWebServer) that registers itself with mesh-control as one version of a
 * service. By default it answers 200 with its version; {@link #behave} changes that per request.
 */
final class HttpBackend implements AutoCloseable {
  final String version;
  final MockWebServer server = new MockWebServer();
  final AtomicInteger requests = new AtomicInteger();
  private volatile Function<RecordedRequest, MockResponse> behaviour;
  private final List<dev.inmesh.testing.ControlPlaneAccess.Channel> channels;
  private final WorkloadRegistration registration;

  /**
   * Registers with the first of {@code controlAddresses}, moving on to the next when it is lost;
   * over mutual TLS with a certificate for service account {@code service} when {@code access} has a CA.
   */
  HttpBackend(dev.inmesh.testing.ControlPlaneAccess access, List<String> controlAddresses, String service, int servicePort,
      String version) throws IOException {
    this(access, controlAddresses, service, servicePort, version, dev.inmesh.Locality.UNKNOWN);
  }

  /** A backend that registers as running in {@code locality}. */
  HttpBackend(dev.inmesh.testing.ControlPlaneAccess access, List<String> controlAddresses, String service, int servicePort,
      String version, dev.inmesh.Locality locality) throws IOException {
    this.version = version;
    this.behaviour = request -> new MockResponse.Builder().code(200).body(version + " " + request.getUrl().encodedPath()).build();
    server.setServerSocketFactory(new NoDelayServerSockets());
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        requests.incrementAndGet();
        return behaviour.apply(request);
      }
    });
    server.start(0);
    channels = controlAddresses.stream().map(address -> access.channel(address, "default", service)).toList();
    registration = WorkloadRegistration.start(channels.stream().map(dev.inmesh.testing.ControlPlaneAccess.Channel::channel).toList(),
        new WorkloadMetadata(service, "default", service, service + "-" + version,
        Map.of("app", service, "version", version), "127.0.0.1",
        List.of(new ServicePort("http", servicePort, server.getPort(), "HTTP")), locality));
  }

  void behave(Function<RecordedRequest, MockResponse> behaviour) {
    this.behaviour = behaviour;
  }

  String nodeId() {
    return registration.nodeId();
  }

  int port() {
    return server.getPort();
  }

  /** Stops answering at once, as a crashed process would; the registration goes with it. */
  void kill() {
    registration.close();
    server.close();
  }

  @Override
  public void close() throws InterruptedException {
    registration.close();
    server.close();
    channels.forEach(dev.inmesh.testing.ControlPlaneAccess.Channel::close);
  }
}
