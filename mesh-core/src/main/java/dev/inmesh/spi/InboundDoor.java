package dev.inmesh.spi;

import dev.inmesh.Mesh;
import dev.inmesh.Ticker;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.inbound.DoorGate;
import dev.inmesh.internal.inbound.FrontDoor;
import dev.inmesh.internal.inbound.InboundMetrics;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.telemetry.PeerMetadata;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The transport-neutral inbound engine of one public port, which every server adapter builds on:
 * the door listens on the port (a target port the {@link Mesh} serves), accepts mutual TLS,
 * plaintext or both as the port's PeerAuthentication mode says <em>at the moment each connection
 * arrives</em> (no policy from mesh-control yet: none), and relays each accepted connection to the
 * server on loopback, remembering who the peer is; the {@link #gate()} then decides each request
 * the adapter reads off that server.
 *
 * <p>A client must finish its TLS handshake and send its first request head within the header
 * timeout, and a connection with no request in flight is closed after the idle timeout; the door
 * holds at most so many connections, and so many from one client address ({@link DoorConfig}).
 *
 * <p>Connections it counts in {@code inmesh.inbound.connections}, by {@code security_policy}
 * ({@code mutual_tls}, {@code none}, {@code refused}) and {@code reason}, and those it closed for a
 * timeout in {@code inmesh.inbound.connections.closed}, by {@code reason}.
 */
public final class InboundDoor implements AutoCloseable {

  private final FrontDoor door;
  private final DoorGate gate;
  private final InboundMetrics metrics;
  private final InetSocketAddress backend;
  private final String operation;
  private final String peerMetadata;

  private InboundDoor(Builder builder) {
    Mesh mesh = builder.mesh;
    this.peerMetadata = PeerMetadata.of(mesh.config()).encode();
    this.operation = mesh.inboundOperation(builder.port);
    Optional<CertificateManager> certificates = mesh.certificates();
    CallRecorder recorder = CallRecorder.unbound(mesh.config(), certificates.map(CertificateManager::identity),
        mesh.accessLog(), mesh.tracing());
    recorder.bindTo(builder.registry);
    this.metrics = new InboundMetrics(recorder, builder.protocol);
    this.backend = builder.backend;
    Clock clock = Clock.systemUTC();
    this.door = new FrontDoor(new FrontDoor.Settings(builder.port, builder.bindAddress(), builder.backend, mesh::inbound,
        certificates, metrics, clock, Ticker.system(), builder.config, builder.applicationProtocols));
    this.gate = new DoorGate(builder.port, door.connections(), mesh::inbound, metrics, clock);
  }

  /**
   * A door on {@code port}, which must be a target port the mesh serves
   * ({@code Mesh.builder().servePort(name, servicePort, port)}).
   */
  public static Builder builder(Mesh mesh, int port) {
    return new Builder(mesh, port);
  }

  /** The public port. */
  public int port() {
    return door.port();
  }

  /** Where the door relays to. */
  public InetSocketAddress backend() {
    return backend;
  }

  /** The registry the door and the request metrics write to. */
  public MeterRegistry meterRegistry() {
    return metrics.registry();
  }

  /**
   * The peer of the relay the backend sees coming from {@code remoteAddress:remotePort}; empty when
   * no relay of this door is behind it.
   */
  public Optional<PeerInfo> peer(InetAddress remoteAddress, int remotePort) {
    return door.connections().peer(remoteAddress, remotePort);
  }

  /** The authorization and request metrics of what this door relays. */
  public InboundGate gate() {
    return gate;
  }

  /** The server spans' name, Istio's: {@code reviews.default.svc.cluster.local:9080/*}. */
  public String operation() {
    return operation;
  }

  /** This workload's {@link PeerMetadata}, encoded for the {@value PeerMetadata#HEADER} response header. */
  public String peerMetadata() {
    return peerMetadata;
  }

  /** Binds the public port and starts accepting; fails with the port named when it is taken. */
  public void start() throws IOException {
    door.start();
  }

  /** Stops accepting new connections; those relayed go on until {@link #close()}. */
  public void stopAccepting() {
    door.stopAccepting();
  }

  /** Stops listening and closes every relayed connection. */
  @Override
  public void close() {
    door.close();
  }

  /**
   * Checks that {@code port} is a target port {@code mesh} serves, so that mesh-control has a
   * listener (and so a policy) for it.
   */
  private static void checkServed(Mesh mesh, int port) {
    List<ServicePort> ports = mesh.config().ports();
    if (mesh.config().workload().isEmpty()) {
      throw new IllegalArgumentException("port " + port + " is not served: this Mesh is a pure client; build it with"
          + " service(...) and servePort(name, servicePort, " + port + ")");
    }
    if (ports.stream().noneMatch(p -> p.targetPort() == port)) {
      String served = ports.stream().map(p -> p.targetPort() + " (" + p.name() + ")").collect(Collectors.joining(", "));
      throw new IllegalArgumentException("port " + port + " is not a port this Mesh serves; it serves target ports "
          + served + ". Register it with servePort(name, servicePort, " + port + ")");
    }
  }

  /** Builds a {@link InboundDoor}; {@link #backend} is required. */
  public static final class Builder {
    private final Mesh mesh;
    private final int port;
    private InetSocketAddress backend;
    private MeterRegistry registry;
    private InetAddress bindAddress;
    private String protocol = "http";
    private DoorConfig config = DoorConfig.defaults();
    private List<String> applicationProtocols = List.of();

    private Builder(Mesh mesh, int port) {
      this.mesh = Objects.requireNonNull(mesh, "mesh");
      checkServed(mesh, port);
      this.port = port;
      this.registry = mesh.meterRegistry();
    }

    /** The server behind the door; it must listen on loopback only, so that nothing gets around the door. */
    public Builder backend(InetSocketAddress backend) {
      if (!backend.getAddress().isLoopbackAddress()) {
        throw new IllegalArgumentException("the server behind the door on port " + port + " must listen on loopback, got "
            + backend + "; anything else could be reached around the door");
      }
      this.backend = backend;
      return this;
    }

    /** Where request and connection metrics go (default: the Mesh's {@link Mesh#meterRegistry()}). */
    public Builder meterRegistry(MeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /** The address the door listens on (default: the workload's address, {@code Mesh.builder().address(...)}). */
    public Builder bindAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address, "address");
      return this;
    }

    /** Timeouts and connection limits (default: {@link DoorConfig#defaults()}). */
    public Builder door(DoorConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /** Builds the door without listening yet. */
    public InboundDoor build() {
      if (backend == null) {
        throw new IllegalStateException("the door on port " + port + " needs a backend(...) to relay to");
      }
      return new InboundDoor(this);
    }

    /**
     * For a gRPC server behind the door: TLS clients negotiate HTTP/2 ({@code h2}) by ALPN, as
     * gRPC requires, and requests count as {@code request_protocol="grpc"}.
     */
    public Builder grpc() {
      this.protocol = "grpc";
      this.applicationProtocols = List.of("h2");
      return this;
    }

    /** Binds the public port and starts accepting. */
    public InboundDoor start() throws IOException {
      InboundDoor inbound = build();
      inbound.start();
      return inbound;
    }

    private InetAddress bindAddress() {
      if (bindAddress != null) {
        return bindAddress;
      }
      try {
        return InetAddress.getByName(mesh.config().address());
      } catch (UnknownHostException e) {
        throw new UncheckedIOException("the workload address " + mesh.config().address() + " does not resolve", e);
      }
    }
  }
}
