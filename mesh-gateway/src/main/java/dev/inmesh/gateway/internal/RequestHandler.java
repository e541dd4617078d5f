package dev.inmesh.gateway.internal;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.PeerInfo;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a whole request off the event loop: copies it, hands it to the {@link Forwarder} on the
 * bounded worker pool, and writes the answer back on the channel's event loop. A connection has one
 * call in flight: Netty decodes every request one read brought in, so pipelined HTTP/1.1 requests
 * wait here (at most {@link #MAX_PIPELINED}, past which the connection is closed) and are answered
 * one after the other, in order. Nothing more is read, and no waiting request is started, while
 * the channel is not writable: a client that does not read its answers holds at most one answer
 * and the channel's outbound buffer, not one per request it sends. HTTP/2 has one handler per
 * stream, so one call per stream, bounded by the streams per connection.
 */
final class RequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(RequestHandler.class);
  /** HTTP/1.1 requests a connection may have read and not yet had answered. */
  static final int MAX_PIPELINED = 16;

  private final Forwarder forwarder;
  private final int gatewayPort;
  private final boolean tls;
  private final Deque<FullHttpRequest> waiting = new ArrayDeque<>();
  private boolean inFlight;

  RequestHandler(Forwarder forwarder, int gatewayPort, boolean tls) {
    this.forwarder = forwarder;
    this.gatewayPort = gatewayPort;
    this.tls = tls;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    if (waiting.size() >= MAX_PIPELINED) {
      log.debug("gateway port {}: {} pipelined more than {} requests; closing", gatewayPort,
          ctx.channel().remoteAddress(), MAX_PIPELINED);
      ctx.close();
      return;
    }
    waiting.addLast(request.retain());
    ctx.channel().config().setAutoRead(false);
    next(ctx);
  }

  /** Starts the next waiting request when none is in flight and the client reads what it is sent; else reads on. */
  private void next(ChannelHandlerContext ctx) {
    if (inFlight || !ctx.channel().isWritable() || !ctx.channel().isActive()) {
      return;
    }
    FullHttpRequest request = waiting.pollFirst();
    if (request == null) {
      ctx.channel().config().setAutoRead(true);
      return;
    }
    inFlight = true;
    try {
      serve(ctx, request);
    } finally {
      request.release();
    }
  }

  private void serve(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    if (request.decoderResult().isFailure()) {
      Throwable cause = request.decoderResult().cause();
      HttpResponseStatus status = cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
          : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
          : HttpResponseStatus.BAD_REQUEST;
      answered(ctx, Forwarder.Answer.local(status.code(), status.reasonPhrase()), false);
      return;
    }
    Channel connection = ctx.channel() instanceof Http2StreamChannel stream ? stream.parent() : ctx.channel();
    PortConfig.Binding binding = connection.attr(PortServer.BINDING).get();
    List<Map.Entry<String, String>> headers = new ArrayList<>(request.headers().size());
    request.headers().forEach(headers::add);
    Forwarder.Incoming incoming = new Forwarder.Incoming(request.method().name(), request.uri(), headers,
        ByteBufUtil.getBytes(request.content()), tls ? "https" : "http", gatewayPort, binding.routeConfigName(),
        connection.remoteAddress() instanceof InetSocketAddress address ? address.getAddress().getHostAddress() : "",
        ctx.channel() instanceof Http2StreamChannel ? "HTTP/2" : request.protocolVersion().text(), peer(connection));
    boolean queued = forwarder.submit(incoming, answer -> ctx.executor().execute(() -> answered(ctx, answer, keepAlive)));
    if (!queued) {
      answered(ctx, Forwarder.Answer.flagged(503, "overloaded", "UO"), keepAlive);
    }
  }

  /** Writes the answer of the call in flight, then goes on with the next request. */
  private void answered(ChannelHandlerContext ctx, Forwarder.Answer answer, boolean keepAlive) {
    write(ctx, answer, keepAlive).addListener(f -> forwarder.budget().release(answer.bufferedBytes()));
    inFlight = false;
    if (!keepAlive && !(ctx.channel() instanceof Http2StreamChannel)) {
      // the connection closes after this answer: what was pipelined behind it is not served
      return;
    }
    next(ctx);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    next(ctx);
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    while (!waiting.isEmpty()) {
      waiting.pollFirst().release();
    }
    super.channelInactive(ctx);
  }

  /**
   * The downstream client as the gateway's RBAC sees it: its address from the connection, and a
   * SPIFFE principal only when MUTUAL TLS verified a client certificate that carries one.
   */
  private static PeerInfo peer(Channel connection) {
    InetSocketAddress source = connection.remoteAddress() instanceof InetSocketAddress a ? a : new InetSocketAddress(0);
    InetSocketAddress destination = connection.localAddress() instanceof InetSocketAddress a ? a : new InetSocketAddress(0);
    Optional<SpiffeId> principal = Optional.empty();
    SslHandler ssl = connection.pipeline().get(SslHandler.class);
    // SIMPLE TLS asks for no client certificate: the session would answer by throwing, on every request
    if (ssl != null && ssl.engine().getNeedClientAuth()) {
      try {
        Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
        if (chain.length > 0 && chain[0] instanceof X509Certificate certificate) {
          principal = SpiffeId.of(certificate);
        }
      } catch (SSLPeerUnverifiedException e) {
        // no verified client certificate: no principal
      }
    }
    return RequestCheck.peer(source, destination, principal);
  }

  private static ChannelFuture write(ChannelHandlerContext ctx, Forwarder.Answer answer, boolean keepAlive) {
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(answer.status()),
        Unpooled.wrappedBuffer(answer.body()));
    answer.headers().forEach(h -> response.headers().add(h.getKey(), h.getValue()));
    HttpUtil.setContentLength(response, answer.body().length);
    boolean stream = ctx.channel() instanceof Http2StreamChannel;
    if (!stream) {
      response.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
    }
    ChannelFuture written = ctx.writeAndFlush(response);
    if (!keepAlive && !stream) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
    return written;
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("gateway port {}: closing {} after {}", gatewayPort, ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }

  static byte[] text(String body) {
    return body.getBytes(StandardCharsets.UTF_8);
  }
}
