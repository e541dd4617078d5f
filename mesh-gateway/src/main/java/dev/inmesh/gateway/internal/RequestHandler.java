package dev.inmesh.gateway.internal;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
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
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.PeerInfo;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a whole request off the event loop: copies it, hands it to the {@link Forwarder} on the
 * bounded worker pool, and writes the answer back on the channel's event loop. An HTTP/1.1
 * connection reads nothing more while a request is in flight, so pipelined requests are answered
 * in order and a client holds at most one call per connection (HTTP/2: one per stream, bounded by
 * the streams per connection).
 */
final class RequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(RequestHandler.class);

  private final Forwarder forwarder;
  private final int gatewayPort;
  private final boolean tls;

  RequestHandler(Forwarder forwarder, int gatewayPort, boolean tls) {
    this.forwarder = forwarder;
    this.gatewayPort = gatewayPort;
    this.tls = tls;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    if (request.decoderResult().isFailure()) {
      Throwable cause = request.decoderResult().cause();
      HttpResponseStatus status = cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
          : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
          : HttpResponseStatus.BAD_REQUEST;
      write(ctx, Forwarder.Answer.local(status.code(), status.reasonPhrase()), false);
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
    ctx.channel().config().setAutoRead(false);
    boolean queued = forwarder.submit(incoming, answer -> ctx.executor().execute(() -> {
      write(ctx, answer, keepAlive);
      ctx.channel().config().setAutoRead(true);
    }));
    if (!queued) {
      ctx.channel().config().setAutoRead(true);
      write(ctx, Forwarder.Answer.flagged(503, "overloaded", "UO"), keepAlive);
    }
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

  private static void write(ChannelHandlerContext ctx, Forwarder.Answer answer, boolean keepAlive) {
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(answer.status()),
        Unpooled.wrappedBuffer(answer.body()));
    answer.headers().forEach(h -> response.headers().add(h.getKey(), h.getValue()));
    HttpUtil.setContentLength(response, answer.body().length);
    boolean stream = ctx.channel() instanceof Http2StreamChannel;
    if (!stream) {
      response.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
    }
    var written = ctx.writeAndFlush(response);
    if (!keepAlive && !stream) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
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
