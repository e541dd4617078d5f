package dev.inmesh.control.cli;

import com.sun.net.httpserver.HttpServer;
import dev.inmesh.Mesh;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Real HTTP backends for the meshctl IT: a JDK server per version that answers "{@code version path}"
 * and registers itself through a real {@link Mesh} with a service; and the smallest
 * {@link Transport} that lets a real client's {@code OutboundPipeline} send over the JDK's HTTP client.
 */
final class HttpBackends {
  private HttpBackends() {}

  /** A Mesh of namespace default running as {@code serviceAccount}, with a certificate from {@code control}'s CA. */
  static Mesh.Builder withIdentity(Mesh.Builder builder, dev.inmesh.control.MeshControl control, String serviceAccount) {
    var authority = control.ca().orElseThrow();
    return builder.namespace("default").serviceAccount(serviceAccount).certificateAuthority("127.0.0.1:" + control.caGrpcPort(),
        authority.trustBundle().toPem(),
        authority.joinTokens().create("default", serviceAccount, java.time.Duration.ofMinutes(10)).value());
  }

  /** One version of a service, serving on a free port and registered with mesh-control. */
  static final class Backend implements AutoCloseable {
    final HttpServer server;
    final Mesh registration;

    Backend(dev.inmesh.control.MeshControl control, String service, int servicePort, String version) throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/", exchange -> {
        byte[] body = (version + " " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
      });
      server.start();
      // registers over mutual TLS as service account <service>; the plain JDK server behind it speaks no mesh mTLS
      registration = withIdentity(Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()), control, service)
          .service(service).label("version", version).label("security.istio.io/tlsMode", "disabled")
          .servePort("http", servicePort, server.getAddress().getPort()).build();
    }

    @Override
    public void close() {
      registration.close();
      server.stop(0);
    }
  }

  /** What the client got: the status, the body and the headers the mesh added (flags, explanation). */
  record Answer(int status, String body, Map<String, String> headers) {
    Optional<String> explained(String part) {
      String explanation = headers.getOrDefault(dev.inmesh.internal.outbound.OutboundPipeline.EXPLAIN_HEADER, "");
      for (String item : explanation.split("; ")) {
        if (item.startsWith(part + "=")) {
          return Optional.of(item.substring(part.length() + 1));
        }
      }
      return Optional.empty();
    }
  }

  /** Sends each attempt with the JDK's HTTP client; a host outside the mesh answers a marker. */
  static final class JdkTransport implements Transport<Answer> {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String method;

    JdkTransport(String method) {
      this.method = method;
    }

    @Override
    public Answer passThrough() {
      return new Answer(0, "pass-through", Map.of());
    }

    @Override
    public Answer send(Attempt attempt) throws IOException {
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + attempt.endpoint().hostPort() + attempt.path()))
          .method(method, HttpRequest.BodyPublishers.noBody())
          .timeout(attempt.timeout().isZero() ? Duration.ofSeconds(5) : attempt.timeout())
          .build();
      try {
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), response.body(), Map.of());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted");
      }
    }

    @Override
    public int status(Answer response) {
      return response.status();
    }

    @Override
    public void discard(Answer response) {}

    @Override
    public Answer synthesize(int status, String body, Map<String, String> headers) {
      return new Answer(status, body, headers);
    }

    @Override
    public Answer finish(Answer response, RouteAction.HeaderMutations responseHeaders, Optional<String> explanation) {
      Map<String, String> headers = new LinkedHashMap<>(response.headers());
      explanation.ifPresent(e -> headers.put(dev.inmesh.internal.outbound.OutboundPipeline.EXPLAIN_HEADER, e));
      return new Answer(response.status(), response.body(), headers);
    }

    @Override
    public boolean replayable() {
      return true;
    }
  }
}
