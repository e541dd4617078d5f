package dev.inmesh.benchmarks.loopback;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The server library measured alone: a bare forwarding front, the same on both libraries, that
 * takes a GET, sends it to the backend with OkHttp on one of 64 worker threads, and answers its
 * status and body. It is mesh-gateway's shape (a server front, a blocking OkHttp call on a bounded
 * worker pool) without the mesh: only the server library differs between the two.
 * <ul>
 *   <li>{@code JDK}: {@code com.sun.net.httpserver.HttpServer}, its handlers on the worker pool;
 *   <li>{@code NETTY}: Netty 4.2 with one NIO event loop, HTTP/1.1 codec and aggregator, as mesh-gateway's ports.
 * </ul>
 *
 * <p>{@code java -cp benchmarks.jar dev.inmesh.benchmarks.loopback.ForwardingFront JDK|NETTY PORT BACKEND_PORT}
 */
public final class ForwardingFront {
  enum Library {
    JDK("jdk-httpserver"), NETTY("netty-front");

    private final String label;

    Library(String label) {
      this.label = label;
    }

    String label() {
      return label;
    }
  }

  private final OkHttpClient client = new OkHttpClient.Builder()
      .connectionPool(new ConnectionPool(64, 5, TimeUnit.MINUTES)).build();
  private final ExecutorService workers = Executors.newFixedThreadPool(64, Load.named("front-worker"));
  private final String backend;

  private ForwardingFront(int backendPort) {
    this.backend = "http://127.0.0.1:" + backendPort;
  }

  public static void main(String[] args) throws Exception {
    Library library = Library.valueOf(args[0]);
    int port = Integer.parseInt(args[1]);
    ForwardingFront front = new ForwardingFront(Integer.parseInt(args[2]));
    if (library == Library.JDK) {
      front.serveJdk(port);
    } else {
      front.serveNetty(port);
    }
    new CountDownLatch(1).await();
  }

  /** The backend's answer to a GET of {@code path}: its status and body. */
  private Answer forward(String path) {
    try (Response response = client.newCall(new Request.Builder().url(backend + path).build()).execute()) {
      return new Answer(response.code(), response.body().bytes());
    } catch (IOException e) {
      return new Answer(502, e.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  private record Answer(int status, byte[] body) {}

  private void serveJdk(int port) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
    server.setExecutor(workers);
    server.createContext("/", this::exchange);
    server.start();
  }

  private void exchange(HttpExchange exchange) throws IOException {
    try (exchange) {
      exchange.getRequestBody().readAllBytes();
      Answer answer = forward(exchange.getRequestURI().toString());
      exchange.getResponseHeaders().set("content-type", "text/plain");
      exchange.sendResponseHeaders(answer.status(), answer.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(answer.body());
      }
    }
  }

  private void serveNetty(int port) throws InterruptedException {
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    new ServerBootstrap().group(loop).channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new NettyHandler());
          }
        })
        .bind("127.0.0.1", port).sync();
  }

  /** As mesh-gateway's RequestHandler: the connection is not read while its request is on a worker. */
  private final class NettyHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      String path = request.uri();
      boolean keepAlive = HttpUtil.isKeepAlive(request);
      ctx.channel().config().setAutoRead(false);
      workers.execute(() -> {
        Answer answer = forward(path);
        ctx.executor().execute(() -> {
          DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(answer.status()), Unpooled.wrappedBuffer(answer.body()));
          response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
          HttpUtil.setContentLength(response, answer.body().length);
          HttpUtil.setKeepAlive(response, keepAlive);
          var written = ctx.writeAndFlush(response);
          if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
          }
          ctx.channel().config().setAutoRead(true);
        });
      });
    }
  }
}
