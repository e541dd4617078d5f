package dev.inmesh.http.server;

import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.InboundGate;
import dev.inmesh.spi.RequestHead;
import dev.inmesh.spi.RequestHeaderChanges;
import dev.inmesh.tracing.TraceContext;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

/**
 * AuthorizationPolicy and Istio's request metrics for a Servlet container whose connector listens
 * on loopback behind a {@link MeshInbound} door: the caller is the peer the door recorded for the
 * request's remote port. A denied request gets Envoy's {@code 403 RBAC: access denied} and goes
 * no further; an allowed one carries its {@link PeerInfo} in the request attribute
 * {@link PeerInfo#ATTRIBUTE}. A request that did not come through the door is denied.
 *
 * <p>Map it first, on every path, for {@code DispatcherType.REQUEST}. The request's duration ends
 * when the chain returns, so an asynchronous servlet's time is not all counted.
 */
public final class MeshServletFilter implements Filter {
  private final MeshInbound door;
  private final InboundGate gate;

  public MeshServletFilter(MeshInbound door) {
    this.door = door;
    this.gate = door.engine().gate();
  }

  static RequestHead head(HttpServletRequest request) {
    String host = request.getHeader("Host");
    return new RequestHead(request.getMethod(), host == null ? "" : host,
        RequestHead.pathWithQuery(request.getRequestURI(), request.getQueryString()),
        name -> {
          Enumeration<String> values = request.getHeaders(name);
          return values == null ? List.of() : Collections.list(values);
        });
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
    if (!(req instanceof HttpServletRequest request) || !(res instanceof HttpServletResponse response)) {
      throw new ServletException("MeshServletFilter serves HTTP requests only, got " + req.getClass().getName());
    }
    // the remote address is the door's loopback address: an IP literal, so no name lookup happens
    InetAddress remote = InetAddress.getByName(request.getRemoteAddr());
    InboundGate.Verdict verdict = gate.admit(remote, request.getRemotePort(), head(request));
    if (verdict instanceof InboundGate.Refused refused) {
      byte[] body = refused.body().getBytes(StandardCharsets.UTF_8);
      response.setStatus(refused.status());
      response.setContentType("text/plain");
      refused.headers().forEach(response::setHeader);
      response.setContentLength(body.length);
      response.getOutputStream().write(body);
      return;
    }
    InboundGate.Admitted admitted = (InboundGate.Admitted) verdict;
    request.setAttribute(PeerInfo.ATTRIBUTE, admitted.peer());
    int status = 500;
    ServedRequest served = new ServedRequest(door.engine(), admitted, head(request), request::getHeader);
    served.answerMetadata().ifPresent(value -> response.setHeader(PeerMetadata.HEADER, value));
    HttpServletRequest handed = admitted.headerChanges().isEmpty() ? request
        : new ChangedHeaders(request, admitted.headerChanges());
    try (TraceContext.Scope scope = served.attach()) {
      chain.doFilter(handed, response);
      status = response.getStatus();
    } catch (IOException | ServletException | RuntimeException e) {
      served.failed(e);
      throw e;
    } finally {
      served.complete(request.getProtocol(), status, request.getContentLengthLong(), contentLength(response), response::getHeader);
    }
  }

  /** The request as the application must see it after the gate changed its headers (a verified token taken off). */
  private static final class ChangedHeaders extends jakarta.servlet.http.HttpServletRequestWrapper {
    private final RequestHeaderChanges changes;

    ChangedHeaders(HttpServletRequest request, RequestHeaderChanges changes) {
      super(request);
      this.changes = changes;
    }

    @Override
    public String getHeader(String name) {
      List<String> values = values(name);
      return values.isEmpty() ? null : values.get(0);
    }

    @Override
    public Enumeration<String> getHeaders(String name) {
      return Collections.enumeration(values(name));
    }

    @Override
    public Enumeration<String> getHeaderNames() {
      Enumeration<String> names = super.getHeaderNames();
      return Collections.enumeration(changes.names(names == null ? List.of() : Collections.list(names)));
    }

    @Override
    public int getIntHeader(String name) {
      String value = getHeader(name);
      return value == null ? -1 : Integer.parseInt(value);
    }

    @Override
    public long getDateHeader(String name) {
      return changes.touches(name) && getHeader(name) == null ? -1 : super.getDateHeader(name);
    }

    private List<String> values(String name) {
      Enumeration<String> sent = super.getHeaders(name);
      return changes.apply(name, sent == null ? List.of() : Collections.list(sent));
    }
  }

  /** The response body's size when the application declared it, else -1. */
  private static long contentLength(HttpServletResponse response) {
    String declared = response.getHeader("Content-Length");
    try {
      return declared == null ? -1 : Long.parseLong(declared.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
