package dev.inmesh.gateway.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Envoy's {@code request_headers_timeout} for one HTTP/1.1 connection: from the first byte of a
 * request to its last header byte. A client that drips header bytes, each in time for the idle
 * timeout, gets 408 and the connection is closed when the time is up.
 *
 * <p>It takes two handlers: {@link #bytes()} before the HTTP codec arms the timer on the first byte
 * of a request, and {@link #requests()} after it disarms the timer when the codec hands on the
 * request's head, and sees the response end, after which the next byte arms it again. An upgrade
 * to HTTP/2 turns it off: HTTP/2's headers are bounded by the idle timeout and the stream limit.
 */
final class RequestHeadersDeadline {
  private static final byte[] TIMED_OUT = ("HTTP/1.1 408 Request Timeout\r\ncontent-length: 15\r\n"
      + "content-type: text/plain\r\nconnection: close\r\n\r\nrequest timeout").getBytes(StandardCharsets.US_ASCII);

  private enum State { BETWEEN_REQUESTS, READING_HEAD, IN_REQUEST, OFF }

  private final long timeoutMillis;
  private State state = State.BETWEEN_REQUESTS;
  private ScheduledFuture<?> timer;

  RequestHeadersDeadline(long timeoutMillis) {
    this.timeoutMillis = timeoutMillis;
  }

  /** Goes before the codec (after TLS): arms the timer on a request's first byte. */
  ChannelHandler bytes() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object message) throws Exception {
        if (state == State.BETWEEN_REQUESTS && message instanceof ByteBuf bytes && bytes.isReadable()) {
          state = State.READING_HEAD;
          timer = ctx.executor().schedule(() -> expire(ctx), timeoutMillis, TimeUnit.MILLISECONDS);
        }
        super.channelRead(ctx, message);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarm(State.OFF);
        super.channelInactive(ctx);
      }
    };
  }

  /** Goes after the codec: the head has arrived, the response has ended, or the connection left HTTP/1.1. */
  ChannelHandler requests() {
    return new ChannelDuplexHandler() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object message) throws Exception {
        if (message instanceof HttpRequest && state != State.OFF) {
          disarm(State.IN_REQUEST);
        }
        super.channelRead(ctx, message);
      }

      @Override
      public void write(ChannelHandlerContext ctx, Object message, ChannelPromise promise) throws Exception {
        if (message instanceof LastHttpContent && state == State.IN_REQUEST) {
          state = State.BETWEEN_REQUESTS;
        }
        super.write(ctx, message, promise);
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof HttpServerUpgradeHandler.UpgradeEvent
            || event instanceof CleartextHttp2ServerUpgradeHandler.PriorKnowledgeUpgradeEvent) {
          disarm(State.OFF);
        }
        super.userEventTriggered(ctx, event);
      }
    };
  }

  private void disarm(State next) {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    state = next;
  }

  private void expire(ChannelHandlerContext bytesContext) {
    if (state != State.READING_HEAD) {
      return;
    }
    state = State.OFF;
    // written below the codec, which has no request to answer yet
    bytesContext.writeAndFlush(Unpooled.wrappedBuffer(TIMED_OUT)).addListener(ChannelFutureListener.CLOSE);
  }
}
