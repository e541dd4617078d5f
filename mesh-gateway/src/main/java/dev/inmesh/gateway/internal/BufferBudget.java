package dev.inmesh.gateway.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of request and response bodies the gateway holds at once, over every connection and
 * stream: bodies are buffered whole, so without it a client could make the gateway hold its body
 * bound times its connections (and streams). A request body that would pass it is answered 503 and
 * its connection (HTTP/2: its stream) closed; a response that would pass it is answered 503 (see
 * {@link Forwarder}). Envoy's overload manager answers 503 when its buffers fill, too.
 */
final class BufferBudget {
  private final long limit;
  private final AtomicLong held = new AtomicLong();

  BufferBudget(long limit) {
    this.limit = limit;
  }

  /** Takes {@code bytes} from the budget; false, taking nothing, when they do not fit. */
  boolean reserve(long bytes) {
    while (true) {
      long now = held.get();
      if (now + bytes > limit) {
        return false;
      }
      if (held.compareAndSet(now, now + bytes)) {
        return true;
      }
    }
  }

  void release(long bytes) {
    if (bytes > 0) {
      held.addAndGet(-bytes);
    }
  }

  /** The bytes held now. */
  long held() {
    return held.get();
  }

  /**
   * A handler for one connection (HTTP/1.1) or stream (HTTP/2), between the codec and the
   * aggregator: each request's body bytes are taken from the budget as they arrive and given back
   * when its answer has been written, or when the channel closes.
   */
  ChannelHandler requestBodies() {
    return new RequestBodies();
  }

  private final class RequestBodies extends ChannelDuplexHandler {
    /** The bytes of each request not answered yet, oldest first (HTTP/1.1 requests are answered in order). */
    private final Deque<long[]> requests = new ArrayDeque<>();
    private boolean refused;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object message) throws Exception {
      if (refused) {
        ReferenceCountUtil.release(message);
        return;
      }
      if (message instanceof HttpRequest) {
        requests.addLast(new long[1]);
      }
      if (message instanceof HttpContent content && content.content().isReadable() && !requests.isEmpty()) {
        int bytes = content.content().readableBytes();
        if (!reserve(bytes)) {
          refused = true;
          content.release();
          FullHttpResponse busy = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SERVICE_UNAVAILABLE,
              Unpooled.copiedBuffer("overloaded", StandardCharsets.UTF_8));
          busy.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain").set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
          HttpUtil.setContentLength(busy, busy.content().readableBytes());
          ctx.writeAndFlush(busy).addListener(ChannelFutureListener.CLOSE);
          return;
        }
        requests.peekLast()[0] += bytes;
      }
      super.channelRead(ctx, message);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object message, ChannelPromise promise) throws Exception {
      boolean ends = message instanceof LastHttpContent
          && !(message instanceof HttpResponse response && response.status().codeClass() == HttpStatusClass.INFORMATIONAL);
      if (ends && !requests.isEmpty()) {
        release(requests.removeFirst()[0]);
      }
      super.write(ctx, message, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      while (!requests.isEmpty()) {
        release(requests.removeFirst()[0]);
      }
      super.channelInactive(ctx);
    }
  }
}
