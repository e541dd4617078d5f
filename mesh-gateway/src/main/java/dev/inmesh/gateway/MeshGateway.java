package dev.inmesh.gateway;

import dev.inmesh.Mesh;
import dev.inmesh.gateway.internal.Forwarder;
import dev.inmesh.gateway.internal.GatewayServer;
import dev.inmesh.http.client.MeshHttp;
import java.util.OptionalInt;
import okhttp3.OkHttpClient;

/**
 * Istio's ingress gateway on a {@link Mesh}: serves the ports of the Gateways that select the Mesh
 * (built with {@link Mesh.Builder#gateway()} and the labels the Gateways' {@code selector}s name),
 * terminates TLS as their servers say, and sends each request into the mesh through mesh-core's
 * outbound pipeline, by the routes of the VirtualServices bound to those Gateways. Registered as a
 * service ({@link Mesh.Builder#service}, with a {@link Mesh.Builder#servePort} per Gateway port and
 * {@link GatewayOptions#withLocalPort} to match), it is Istio's egress gateway too.
 *
 * <pre>{@code
 * Mesh mesh = Mesh.builder().controlServers("mesh-control:15012").namespace("istio-system")
 *     .serviceAccount("istio-ingressgateway").label("istio", "ingressgateway").gateway()
 *     .certificateAuthority(...).build();
 * MeshGateway gateway = MeshGateway.start(mesh, GatewayOptions.defaults());
 * }</pre>
 */
public final class MeshGateway implements AutoCloseable {
  private final GatewayServer server;

  private MeshGateway(GatewayServer server) {
    this.server = server;
  }

  /** Starts serving; ports open as the Gateways' listeners arrive over xDS. The caller closes the Mesh. */
  public static MeshGateway start(Mesh mesh, GatewayOptions options) {
    OkHttpClient client = MeshHttp.decorate(new OkHttpClient.Builder().followRedirects(false).followSslRedirects(false),
        mesh).build();
    Forwarder forwarder = new Forwarder(mesh, client, options.workers(), options.queuedRequests(), options.maxResponseBytes(),
        options.maxBufferedBytes());
    GatewayServer server = new GatewayServer(mesh, options, forwarder);
    server.start();
    return new MeshGateway(server);
  }

  /** The local port that serves Gateway port {@code gatewayPort}; empty until its listener has arrived. */
  public OptionalInt localPort(int gatewayPort) {
    return server.localPort(gatewayPort);
  }

  @Override
  public void close() {
    server.close();
  }
}
