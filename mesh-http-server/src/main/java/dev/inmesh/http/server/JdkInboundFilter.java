package dev.inmesh.http.server;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import dev.inmesh.http.server.internal.InboundGate;
import dev.inmesh.http.server.internal.RequestHead;
import dev.inmesh.telemetry.TraceContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Authorization and metrics for one context of the JDK server behind a door. */
final class JdkInboundFilter extends Filter {
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
    TraceContext trace = TraceContext.fromHeaders(name -> exchange.getRequestHeaders().getFirst(name)).orElseGet(TraceContext::root);
    try (TraceContext.Scope scope = TraceContext.attach(trace)) {
      chain.doFilter(exchange);
      status = exchange.getResponseCode() > 0 ? exchange.getResponseCode() : 500;
    } finally {
      admitted.complete(status);
    }
  }

  @Override
  public String description() {
    return "Inmesh inbound authorization and metrics";
  }
}
