package dev.inmesh.http.server;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.tracing.TraceContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * End-user authentication, authorization and metrics for one context of the JDK server behind a
 * door; the handler sees the request headers as the gate changed them.
 */
final class JdkInboundFilter extends Filter {
  private final MeshInbound door;
  private final InboundGate gate;

  JdkInboundFilter(MeshInbound door) {
    this.door = door;
    this.gate = door.engine().gate();
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
    RequestHead head = head(exchange);
    InboundGate.Verdict verdict = gate.admit(exchange.getRemoteAddress().getAddress(), exchange.getRemoteAddress().getPort(),
        head);
    if (verdict instanceof InboundGate.Refused refused) {
      byte[] body = refused.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      refused.headers().forEach(exchange.getResponseHeaders()::set);
      exchange.sendResponseHeaders(refused.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
      return;
    }
    InboundGate.Admitted admitted = (InboundGate.Admitted) verdict;
    exchange.setAttribute(PeerInfo.ATTRIBUTE, admitted.peer());
    int status = 500;
    ServedRequest served = new ServedRequest(door.engine(), admitted, head, name -> exchange.getRequestHeaders().getFirst(name));
    served.answerMetadata().ifPresent(value -> exchange.getResponseHeaders().set(PeerMetadata.HEADER, value));
    HttpExchange handed = admitted.headerChanges().isEmpty() ? exchange
        : new ChangedHeadersExchange(exchange, admitted.headerChanges());
    try (TraceContext.Scope scope = served.attach()) {
      chain.doFilter(handed);
      status = exchange.getResponseCode() > 0 ? exchange.getResponseCode() : 500;
    } catch (IOException | RuntimeException e) {
      served.failed(e);
      throw e;
    } finally {
      served.complete(exchange.getProtocol(), status, length(exchange.getRequestHeaders().getFirst("Content-Length")),
          length(exchange.getResponseHeaders().getFirst("Content-length")), name -> exchange.getResponseHeaders().getFirst(name));
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
