package dev.inmesh.http.server;

import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.inmesh.Mesh;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.PeerInfo;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.Executor;

/**
 * The JDK's built-in HTTP server ({@code com.sun.net.httpserver}) in the mesh: the server itself
 * listens on loopback, a {@link MeshInbound} door on the public port terminates mTLS as the port's
 * PeerAuthentication says, and every context's handler runs behind a filter that enforces the
 * port's AuthorizationPolicy (a denied request gets Envoy's {@code 403 RBAC: access denied} and
 * never reaches the handler) and records Istio's request metrics. Handlers find the caller as a
 * {@link PeerInfo} in the exchange attribute {@link PeerInfo#ATTRIBUTE}.
 *
 * <pre>{@code
 * Mesh mesh = Mesh.builder()...service("reviews").servePort("http", 9080, 9080)
 *     .certificateAuthority(caAddress, rootPem, token).build();
 * MeshHttpServer server = MeshHttpServer.create(mesh, 9080);
 * server.createContext("/reviews", exchange -> { ... });
 * server.start();
 * }</pre>
 */
public final class MeshHttpServer implements AutoCloseable {
  static {
    dev.inmesh.JdkHttpServers.noDelay();
  }

  private final HttpServer server;
  private final MeshInbound inbound;

  private MeshHttpServer(HttpServer server, MeshInbound inbound) {
    this.server = server;
    this.inbound = inbound;
  }

  /**
   * A server for the public {@code port}, which must be a target port {@code mesh} serves
   * ({@code servePort(name, servicePort, port)}); nothing listens until {@link #start()}.
   *
   * @throws IllegalArgumentException naming the port and the ones the mesh serves, if it serves not this one
   */
  public static MeshHttpServer create(Mesh mesh, int port) throws IOException {
    return builder(mesh, port).build();
  }

  public static Builder builder(Mesh mesh, int port) {
    return new Builder(MeshInbound.builder(mesh, port));
  }

  /** Serves {@code path} with {@code handler}, behind authorization and metrics. */
  public HttpContext createContext(String path, HttpHandler handler) {
    HttpContext context = server.createContext(path, handler);
    context.getFilters().add(new JdkInboundFilter(inbound));
    return context;
  }

  public void removeContext(String path) {
    server.removeContext(path);
  }

  /** Where handlers run; as {@link HttpServer#setExecutor}, the default runs them on the dispatcher thread. */
  public void setExecutor(Executor executor) {
    server.setExecutor(executor);
  }

  /** Starts the server on loopback, then the door on the public port. */
  public void start() throws IOException {
    server.start();
    try {
      inbound.engine().start();
    } catch (IOException e) {
      server.stop(0);
      throw e;
    }
  }

  /** The public port. */
  public int port() {
    return inbound.port();
  }

  /** The registry the request and connection metrics go to. */
  public MeterRegistry meterRegistry() {
    return inbound.meterRegistry();
  }

  /**
   * Stops accepting connections, lets exchanges in progress finish for up to {@code delaySeconds}
   * (as {@link HttpServer#stop}), then closes every connection.
   */
  public void stop(int delaySeconds) {
    inbound.engine().stopAccepting();
    server.stop(delaySeconds);
    inbound.close();
  }

  @Override
  public void close() {
    stop(0);
  }

  /** Builds a {@link MeshHttpServer}. */
  public static final class Builder {
    private final MeshInbound.Builder inbound;

    private Builder(MeshInbound.Builder inbound) {
      this.inbound = inbound;
    }

    /** Where request and connection metrics go (default: the Mesh's {@link Mesh#meterRegistry()}). */
    public Builder meterRegistry(MeterRegistry registry) {
      inbound.meterRegistry(registry);
      return this;
    }

    /** The address the public port listens on (default: the workload's address). */
    public Builder bindAddress(InetAddress address) {
      inbound.bindAddress(address);
      return this;
    }

    /** The door's timeouts and connection limits (default: {@link DoorConfig#defaults()}). */
    public Builder door(DoorConfig config) {
      inbound.door(config);
      return this;
    }

    public MeshHttpServer build() throws IOException {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      return new MeshHttpServer(server, inbound.backend(server.getAddress()).build());
    }
  }
}
