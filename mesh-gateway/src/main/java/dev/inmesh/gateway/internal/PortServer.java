package dev.inmesh.gateway.internal;

import dev.inmesh.gateway.GatewayOptions;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AsciiString;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Gateway port on Netty. Per connection: the connection bound, the idle timeout, then TLS
 * chosen by SNI (with ALPN between h2 and HTTP/1.1) or plaintext HTTP/1.1 with h2c (upgrade and
 * prior knowledge); HTTP/1.1 requests' heads are bounded in time ({@link RequestHeadersDeadline}). Requests, aggregated up to the body bound, go to the {@link RequestHandler}.
 * The port's config is swapped whole when it changes; open connections keep the server they chose.
 */
final class PortServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PortServer.class);
  static final AttributeKey<PortConfig.Binding> BINDING = AttributeKey.valueOf("inmesh.gateway.binding");

  private final int gatewayPort;
  private final GatewayOptions options;
  private final Forwarder forwarder;
  private final AtomicReference<PortConfig> config;
  private final AtomicInteger connections;
  private final Channel channel;

  PortServer(int gatewayPort, PortConfig initial, GatewayOptions options, Forwarder forwarder, EventLoopGroup boss,
      EventLoopGroup workers, AtomicInteger connections) throws InterruptedException {
    this.gatewayPort = gatewayPort;
    this.options = options;
    this.forwarder = forwarder;
    this.config = new AtomicReference<>(initial);
    this.connections = connections;
    ChannelFuture bound = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connection(ch);
          }
        })
        .bind(options.bindAddress(), options.localPortFor(gatewayPort))
        .await();
    if (!bound.isSuccess()) {
      // Netty rethrows a BindException undeclared from sync(); a named, unchecked failure instead
      throw new GatewayConfigException("cannot listen on " + options.bindAddress() + ":" + options.localPortFor(gatewayPort)
          + ": " + bound.cause(), bound.cause());
    }
    this.channel = bound.channel();
    log.info("gateway port {} listening on {}", gatewayPort, channel.localAddress());
  }

  int localPort() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  PortConfig config() {
    return config.get();
  }

  void update(PortConfig next) {
    config.set(next);
  }

  private void connection(SocketChannel ch) {
    ChannelPipeline pipeline = ch.pipeline();
    if (connections.incrementAndGet() > options.maxConnections()) {
      connections.decrementAndGet();
      log.debug("gateway port {}: refused a connection from {}, {} open", gatewayPort, ch.remoteAddress(), options.maxConnections());
      ch.close();
      return;
    }
    ch.closeFuture().addListener(f -> connections.decrementAndGet());
    long idle = options.idleTimeout().toMillis();
    pipeline.addLast(new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS));
    pipeline.addLast(new IdleCloser());
    PortConfig current = config.get();
    if (current.tls()) {
      pipeline.addLast(new SniRouter(current, options.handshakeTimeout().toMillis()));
      return;
    }
    Optional<PortConfig.Binding> binding = current.plaintext();
    if (binding.isEmpty()) {
      ch.close();
      return;
    }
    ch.attr(BINDING).set(binding.get());
    HttpServerCodec codec = http1Codec();
    HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec,
        protocol -> AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
            ? new Http2ServerUpgradeCodec(http2Codec(), new Http2MultiplexHandler(streamInitializer(false)))
            : null,
        options.maxBodyBytes());
    ChannelHandler priorKnowledge = new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        c.pipeline().addLast(http2Codec(), new Http2MultiplexHandler(streamInitializer(false)));
      }
    };
    RequestHeadersDeadline deadline = headersDeadline();
    pipeline.addLast(deadline.bytes());
    pipeline.addLast(new CleartextHttp2ServerUpgradeHandler(codec, upgrade, priorKnowledge));
    pipeline.addLast(deadline.requests());
    pipeline.addLast(new HttpObjectAggregator(options.maxBodyBytes()));
    pipeline.addLast(new RequestHandler(forwarder, gatewayPort, false));
  }

  private HttpServerCodec http1Codec() {
    return new HttpServerCodec(new HttpDecoderConfig()
        .setMaxInitialLineLength(Math.min(options.maxHeaderBytes(), 16 * 1024))
        .setMaxHeaderSize(options.maxHeaderBytes()));
  }

  private RequestHeadersDeadline headersDeadline() {
    return new RequestHeadersDeadline(options.requestHeadersTimeout().toMillis());
  }

  private Http2FrameCodec http2Codec() {
    return Http2FrameCodecBuilder.forServer()
        .initialSettings(Http2Settings.defaultSettings()
            .maxConcurrentStreams(options.maxConcurrentStreams())
            .maxHeaderListSize(options.maxHeaderBytes()))
        .build();
  }

  private ChannelInitializer<Channel> streamInitializer(boolean tls) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel stream) {
        stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true));
        stream.pipeline().addLast(new HttpObjectAggregator(options.maxBodyBytes()));
        stream.pipeline().addLast(new RequestHandler(forwarder, gatewayPort, tls));
      }
    };
  }

  /** Chooses the server by SNI, then hands the connection to TLS and ALPN; no server for the name: closed. */
  private final class SniRouter extends AbstractSniHandler<PortConfig.Binding> {
    private final PortConfig config;

    SniRouter(PortConfig config, long handshakeTimeoutMillis) {
      super(handshakeTimeoutMillis);
      this.config = config;
    }

    @Override
    protected Future<PortConfig.Binding> lookup(ChannelHandlerContext ctx, String hostname) {
      return ctx.executor().newSucceededFuture(config.forSni(hostname).orElse(null));
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<PortConfig.Binding> future) {
      PortConfig.Binding binding = future.getNow();
      if (!future.isSuccess() || binding == null) {
        log.debug("gateway port {}: no server for SNI '{}'; closing", gatewayPort, hostname);
        ctx.close();
        return;
      }
      ctx.channel().attr(BINDING).set(binding);
      SslHandler ssl = binding.tls().newHandler(ctx.alloc());
      ssl.setHandshakeTimeoutMillis(options.handshakeTimeout().toMillis());
      ctx.pipeline().replace(this, "tls", ssl);
      ctx.pipeline().addAfter("tls", "alpn", new Alpn());
    }
  }

  private final class Alpn extends ApplicationProtocolNegotiationHandler {
    Alpn() {
      super(ApplicationProtocolNames.HTTP_1_1);
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
      if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        ctx.pipeline().addLast(http2Codec(), new Http2MultiplexHandler(streamInitializer(true)));
        return;
      }
      RequestHeadersDeadline deadline = headersDeadline();
      ctx.pipeline().addLast(deadline.bytes(), http1Codec(), deadline.requests(),
          new HttpObjectAggregator(options.maxBodyBytes()), new RequestHandler(forwarder, gatewayPort, true));
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("gateway port {}: TLS handshake with {} failed: {}", gatewayPort, ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }

  /** Closes a connection that stayed idle for the idle timeout. */
  private static final class IdleCloser extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
      if (event instanceof IdleStateEvent) {
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, event);
    }
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }
}
