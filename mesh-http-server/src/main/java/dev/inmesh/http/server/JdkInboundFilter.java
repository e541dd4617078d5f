package dev.inmesh.http.server;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import dev.inmesh.http.server.internal.InboundGate;
import dev.inmesh.http.server.internal.RequestHead;
import dev.inmesh.telemetry.AccessLog;
import dev.inmesh.telemetry.TraceContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/** Authorization and metrics for one context of the JDK server behind a door. */
final class JdkInboundFilter extends Filter {
  private static final AccessLog ACCESS_LOG = AccessLog.envoyDefault();

  private final InboundGate gate;

  JdkInboundFilter(InboundGate gate) {
    this.gate = gate;
  }

  static RequestHead head(HttpExchange exchange) {
    URI uri = exchange.getRequestURI();
    String host = exchange.getRequestHeaders().getFirst("Host");
    if (host == null) {
      host = uri.getRawAuthority() == null ? "" : uri.getRawAuthority();
    }
    return new RequestHead(exchange.getRequestMethod(), host, RequestHead.pathWithQuery(uri.getRawPath(), uri.getRawQuery()),
        name -> {
          List<String> values = exchange.getRequestHeaders().get(name);
          return values == null ? List.of() : values;
        });
  }

  @Override
  public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
    InboundGate.Verdict verdict = gate.admit(exchange.getRemoteAddress().getAddress(), exchange.getRemoteAddress().getPort(),
        head(exchange));
    if (verdict instanceof InboundGate.Refused refused) {
      byte[] body = refused.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(refused.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
      return;
    }
    InboundGate.Admitted admitted = (InboundGate.Admitted) verdict;
    exchange.setAttribute(PeerInfo.ATTRIBUTE, admitted.peer());
    int status = 500;
    long start = System.nanoTime();
    TraceContext trace = TraceContext.fromHeaders(name -> exchange.getRequestHeaders().getFirst(name)).orElseGet(TraceContext::root);
    try (TraceContext.Scope scope = TraceContext.attach(trace)) {
      chain.doFilter(exchange);
      status = exchange.getResponseCode() > 0 ? exchange.getResponseCode() : 500;
    } finally {
      long requestBytes = length(exchange.getRequestHeaders().getFirst("Content-Length"));
      long responseBytes = length(exchange.getResponseHeaders().getFirst("Content-length"));
      admitted.complete(status, requestBytes, responseBytes);
      if (ACCESS_LOG.enabled()) {
        long nanos = System.nanoTime() - start;
        PeerInfo peer = admitted.peer();
        ACCESS_LOG.log(new AccessLog.Entry(Instant.now().minusNanos(nanos), exchange.getProtocol(), status, "-",
            Math.max(0, requestBytes), Math.max(0, responseBytes), nanos / 1_000_000, null, null,
            peer.source().getAddress().getHostAddress() + ":" + peer.source().getPort(),
            peer.principal().map(Object::toString).orElse(null), null,
            name -> switch (name) {
              case ":method" -> exchange.getRequestMethod();
              case ":path" -> exchange.getRequestURI().getRawPath()
                  + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery());
              case ":authority" -> exchange.getRequestHeaders().getFirst("Host");
              default -> exchange.getRequestHeaders().getFirst(name);
            },
            name -> exchange.getResponseHeaders().getFirst(name)));
      }
    }
  }

  private static long length(String header) {
    if (header == null) {
      return -1;
    }
    try {
      return Long.parseLong(header.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  @Override
  public String description() {
    return "Inmesh inbound authorization and metrics";
  }
}
