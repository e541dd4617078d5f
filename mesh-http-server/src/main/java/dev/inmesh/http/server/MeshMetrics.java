package dev.inmesh.http.server;

import com.sun.net.httpserver.HttpServer;
import dev.inmesh.Mesh;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A Prometheus {@code /metrics} endpoint for a workload, in one line:
 * {@code MeshMetrics.serve(mesh, 15020)}. It shows everything the Mesh's meter registry holds:
 * Istio's request metrics from its clients and servers, and the {@code inmesh_*} meters.
 */
public final class MeshMetrics implements AutoCloseable {
  static {
    dev.inmesh.commons.internal.JdkHttpServers.noDelay();
  }

  /** The Prometheus text format version Prometheus scrapers ask for. */
  private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final PrometheusMeterRegistry prometheus;

  private MeshMetrics(HttpServer server, PrometheusMeterRegistry prometheus) {
    this.server = server;
    this.prometheus = prometheus;
  }

  /**
   * Serves {@code GET /metrics} on {@code port} (0 picks one) of all interfaces. The Mesh's
   * registry must be a composite (Micrometer's global registry, the default, is one), to which a
   * Prometheus registry is added, or a {@link PrometheusMeterRegistry} itself.
   */
  public static MeshMetrics serve(Mesh mesh, int port) throws IOException {
    MeterRegistry registry = mesh.meterRegistry();
    PrometheusMeterRegistry prometheus;
    if (registry instanceof PrometheusMeterRegistry own) {
      prometheus = own;
    } else if (registry instanceof CompositeMeterRegistry composite) {
      prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      composite.add(prometheus);
    } else {
      throw new IllegalArgumentException("the Mesh's meter registry is a " + registry.getClass().getSimpleName()
          + "; give the Mesh a PrometheusMeterRegistry or a CompositeMeterRegistry (the default) to serve /metrics");
    }
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext("/metrics", exchange -> {
      byte[] body = prometheus.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    return new MeshMetrics(server, prometheus);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public PrometheusMeterRegistry registry() {
    return prometheus;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
