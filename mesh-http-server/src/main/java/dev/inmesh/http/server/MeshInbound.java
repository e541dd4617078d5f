package dev.inmesh.http.server;

import dev.inmesh.Mesh;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.spi.InboundDoor;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * The door in front of an HTTP server: it listens on the workload's public port (a target port
 * the {@link Mesh} serves), accepts mutual TLS, plaintext or both as the port's PeerAuthentication
 * mode says <em>at the moment each connection arrives</em> (no policy from mesh-control yet: none),
 * and relays each accepted connection to the server on loopback, remembering who the peer is. The
 * engine is mesh-core's {@link InboundDoor}; this is its face for HTTP servers.
 *
 * <p>{@link MeshHttpServer} puts one in front of the JDK's server by itself. For any other server,
 * bind it to loopback, put a door in front, and authorize requests with a
 * {@link MeshServletFilter} built on the door:
 *
 * <pre>{@code
 * MeshInbound door = MeshInbound.front(mesh, 9080, new InetSocketAddress("127.0.0.1", jettyPort));
 * context.addFilter(new FilterHolder(new MeshServletFilter(door)), "/*", EnumSet.of(DispatcherType.REQUEST));
 * }</pre>
 *
 * <p>A client must finish its TLS handshake and send its first request head within the header
 * timeout, and a connection with no request in flight is closed after the idle timeout; the door
 * holds at most so many connections, and so many from one client address ({@link DoorConfig}).
 *
 * <p>Connections it counts in {@code inmesh.inbound.connections}, by {@code security_policy}
 * ({@code mutual_tls}, {@code none}, {@code refused}) and {@code reason}, and those it closed for a
 * timeout in {@code inmesh.inbound.connections.closed}, by {@code reason}.
 */
public final class MeshInbound implements AutoCloseable {
  private final InboundDoor door;

  private MeshInbound(InboundDoor door) {
    this.door = door;
  }

  /** Starts a door on {@code port} in front of the server at {@code backend}. */
  public static MeshInbound front(Mesh mesh, int port, InetSocketAddress backend) throws IOException {
    return builder(mesh, port).backend(backend).start();
  }

  /**
   * A door on {@code port}, which must be a target port the mesh serves
   * ({@code Mesh.builder().servePort(name, servicePort, port)}).
   */
  public static Builder builder(Mesh mesh, int port) {
    return new Builder(InboundDoor.builder(mesh, port));
  }

  /** The public port. */
  public int port() {
    return door.port();
  }

  /** Where the door relays to. */
  public InetSocketAddress backend() {
    return door.backend();
  }

  /** The registry the door and the request metrics write to. */
  public MeterRegistry meterRegistry() {
    return door.meterRegistry();
  }

  /**
   * The peer of the relay the backend sees coming from {@code remoteAddress:remotePort}; empty when
   * no relay of this door is behind it.
   */
  public Optional<PeerInfo> peer(InetAddress remoteAddress, int remotePort) {
    return door.peer(remoteAddress, remotePort);
  }

  /** The engine, for this module's adapters. */
  InboundDoor engine() {
    return door;
  }

  /** Stops listening and closes every relayed connection. */
  @Override
  public void close() {
    door.close();
  }

  /** Builds a {@link MeshInbound}; {@link #backend} is required. */
  public static final class Builder {
    private final InboundDoor.Builder door;

    private Builder(InboundDoor.Builder door) {
      this.door = door;
    }

    /** The server behind the door; it must listen on loopback only, so that nothing gets around the door. */
    public Builder backend(InetSocketAddress backend) {
      door.backend(backend);
      return this;
    }

    /** Where request and connection metrics go (default: the Mesh's {@link Mesh#meterRegistry()}). */
    public Builder meterRegistry(MeterRegistry registry) {
      door.meterRegistry(registry);
      return this;
    }

    /** The address the door listens on (default: the workload's address, {@code Mesh.builder().address(...)}). */
    public Builder bindAddress(InetAddress address) {
      door.bindAddress(address);
      return this;
    }

    /** Timeouts and connection limits (default: {@link DoorConfig#defaults()}). */
    public Builder door(DoorConfig config) {
      door.door(config);
      return this;
    }

    /**
     * For a gRPC server behind the door: TLS clients negotiate HTTP/2 ({@code h2}) by ALPN, as
     * gRPC requires, and requests count as {@code request_protocol="grpc"}.
     */
    public Builder grpc() {
      door.grpc();
      return this;
    }

    /** Builds the door without listening yet. */
    MeshInbound build() {
      return new MeshInbound(door.build());
    }

    /** Binds the public port and starts accepting. */
    public MeshInbound start() throws IOException {
      MeshInbound inbound = build();
      inbound.door.start();
      return inbound;
    }
  }
}
