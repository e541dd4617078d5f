package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import dev.inmesh.Mesh;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.internal.inbound.InboundMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Slow clients against the JDK server behind the door, with a real mesh-control: an attacker on
 * one loopback address keeps the door's whole connection limit of connections open, each having
 * sent one byte (half of them the first byte of a TLS handshake under PERMISSIVE), and reopens each
 * one the door closes. Meanwhile callers on another loopback address, each call on a new
 * connection, are all served; the attacker holds no more than its address's share, and each of its
 * connections is closed at the header timeout. The door relays no connection before its first
 * request head is complete, so the JDK server on its default executor, whose one thread reads every
 * request head, is not held up either. A kept-alive connection is closed once idle, but not while
 * its request is being answered.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DoorSlowClientsIT {
  private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(2);
  private static final DoorConfig DOOR = DoorConfig.defaults().withHeaderTimeout(HEADER_TIMEOUT).withIdleTimeout(IDLE_TIMEOUT)
      .withMaxConnections(128).withMaxConnectionsPerSource(32);
  private static final Duration ATTACK = Duration.ofSeconds(5);
  private static final String ATTACKER = "127.0.0.2";
  private static final String CALLER = "127.0.0.1";

  InboundFixture mesh;
  Mesh reviews;
  Mesh details;
  Mesh productpage;
  SimpleMeterRegistry registry;
  SimpleMeterRegistry serialRegistry;
  MeshHttpServer server;
  MeshHttpServer serialServer;
  ExecutorService handlers;
  int port;
  int serialPort;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture();
    port = InboundFixture.freePort();
    reviews = mesh.server("reviews", port);
    serialPort = InboundFixture.freePort();
    details = mesh.server("details", serialPort);
    productpage = mesh.client("productpage");
    registry = new SimpleMeterRegistry();
    server = MeshHttpServer.builder(reviews, port).meterRegistry(registry).door(DOOR).build();
    server.createContext("/", DoorSlowClientsIT::answer);
    handlers = Executors.newCachedThreadPool();
    server.setExecutor(handlers);
    server.start();
    // the JDK's default: one thread reads every request head and runs every handler
    serialRegistry = new SimpleMeterRegistry();
    serialServer = MeshHttpServer.builder(details, serialPort).meterRegistry(serialRegistry).door(DOOR).build();
    serialServer.createContext("/", DoorSlowClientsIT::answer);
    serialServer.start();
  }

  private static void answer(HttpExchange exchange) throws IOException {
    if (exchange.getRequestURI().getPath().equals("/slow")) {
      sleep(IDLE_TIMEOUT.multipliedBy(2));
    }
    byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(200, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @AfterAll
  void stop() {
    server.close();
    serialServer.close();
    handlers.shutdownNow();
    mesh.close();
  }

  @ParameterizedTest
  @EnumSource(value = MtlsMode.class, names = {"PERMISSIVE", "DISABLE"})
  void callersAreServedWhileOneAddressHoldsSlowConnectionsAndEachIsClosedAtTheHeaderTimeout(MtlsMode mode) throws Exception {
    mesh.mtlsMode(reviews, port, mode);
    double refusedBefore = counted(InboundMetrics.CONNECTIONS, "reason", "source_limit");
    double timedOutBefore = counted(InboundMetrics.CLOSED_CONNECTIONS, "reason", "header_timeout");

    Siege siege = underAttack(registry, port, mode);

    System.out.println(mode + ", handlers on a pool: " + siege);
    assertThat(siege.calls).isGreaterThanOrEqualTo(10);
    // the attacker's share, and the caller's last connections, which the door closes a moment after the caller
    assertThat(siege.mostOpen).as("connections the door held at once")
        .isBetween(DOOR.maxConnectionsPerSource(), DOOR.maxConnectionsPerSource() + 4);
    // the door closed each connection it took at the header timeout (its timer looks every quarter
    // timeout); those that lived less were refused
    assertThat(siege.attack.lifetimes).allSatisfy(lived -> assertThat(lived)
        .isLessThan(HEADER_TIMEOUT.toMillis() + Duration.ofSeconds(3).toMillis()));
    assertThat(siege.attack.lifetimes.stream().filter(lived -> lived >= HEADER_TIMEOUT.toMillis()).count())
        .isGreaterThanOrEqualTo(DOOR.maxConnectionsPerSource());
    assertThat(counted(InboundMetrics.CONNECTIONS, "reason", "source_limit") - refusedBefore)
        .isGreaterThanOrEqualTo(DOOR.maxConnections() - DOOR.maxConnectionsPerSource());
    assertThat(counted(InboundMetrics.CLOSED_CONNECTIONS, "reason", "header_timeout") - timedOutBefore)
        .isGreaterThanOrEqualTo(DOOR.maxConnectionsPerSource());
  }

  /**
   * On its default executor the JDK's server reads every request head on one thread, so one slow
   * head it saw would hold up every caller; the door relays a connection only once its first head
   * is complete, so the attack never reaches that thread.
   */
  @Test
  void onTheJdkDefaultExecutorCallersAreNotHeldUpBySlowHeads() throws Exception {
    mesh.mtlsMode(details, serialPort, MtlsMode.DISABLE);

    Siege siege = underAttack(serialRegistry, serialPort, MtlsMode.DISABLE);

    System.out.println("DISABLE, handlers on the JDK's dispatcher thread: " + siege);
    // a caller waiting behind each slow head would make at most one call per header timeout
    assertThat(siege.calls).isGreaterThanOrEqualTo(2 * (int) (ATTACK.toMillis() / HEADER_TIMEOUT.toMillis()));
    assertThat(siege.mostOpen).isBetween(DOOR.maxConnectionsPerSource(), DOOR.maxConnectionsPerSource() + 4);
  }

  /** What happened while callers called {@code target} on new connections during an attack. */
  private record Siege(int calls, long slowestMillis, int mostOpen, Attack attack) {
    @Override
    public String toString() {
      long full = attack.lifetimes.stream().filter(lived -> lived >= HEADER_TIMEOUT.toMillis()).count();
      return String.format("%d calls served during a %d s attack (the slowest %d ms); the door held at most %d"
          + " connections at once; of the attacker's %d closed connections, %d lived the header timeout (the longest"
          + " %d ms), the others were refused at once", calls, ATTACK.toSeconds(), slowestMillis, mostOpen,
          attack.lifetimes.size(), full, attack.lifetimes.stream().mapToLong(Long::longValue).max().orElse(0));
    }
  }

  /** Calls {@code target} for {@link #ATTACK} while an attacker holds slow connections; every call must be answered. */
  private Siege underAttack(MeterRegistry meters, int target, MtlsMode mode) throws Exception {
    SSLSocketFactory mtls = InboundFixture.mtlsSockets(productpage);
    Attack attack = new Attack(target, mode == MtlsMode.PERMISSIVE);
    Thread attacker = new Thread(attack, "slow-loris");
    AtomicInteger mostOpen = new AtomicInteger();
    Gauge open = meters.get(InboundMetrics.OPEN_CONNECTIONS).tag("port", Integer.toString(target)).gauge();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleAtFixedRate(() -> mostOpen.accumulateAndGet((int) open.value(), Math::max), 0, 10, TimeUnit.MILLISECONDS);
    attacker.start();
    int calls = 0;
    long slowest = 0;
    try {
      sleep(Duration.ofMillis(300));
      long end = System.nanoTime() + ATTACK.toNanos();
      while (System.nanoTime() < end) {
        long started = System.nanoTime();
        try (Socket plaintext = connect(new Socket(), target)) {
          assertThat(call(plaintext, "/reviews/1", "close")).as("a plaintext call under %s during the attack", mode)
              .isEqualTo("200 ok");
        }
        calls++;
        if (mode == MtlsMode.PERMISSIVE) {
          try (Socket tls = connect(mtls.createSocket(), target)) {
            assertThat(call(tls, "/reviews/1", "close")).as("an mTLS call during the attack").isEqualTo("200 ok");
          }
          calls++;
        }
        slowest = Math.max(slowest, System.nanoTime() - started);
        sleep(Duration.ofMillis(50));
      }
    } finally {
      sampler.shutdownNow();
      attack.stop();
      attacker.join(Duration.ofSeconds(10).toMillis());
    }
    return new Siege(calls, Duration.ofNanos(slowest).toMillis(), mostOpen.get(), attack);
  }

  @Test
  void aKeptAliveConnectionIsClosedOnceIdleButNotWhileItsRequestIsAnswered() throws Exception {
    mesh.mtlsMode(reviews, port, MtlsMode.PERMISSIVE);
    double idleBefore = counted(InboundMetrics.CLOSED_CONNECTIONS, "reason", "idle_timeout");
    try (Socket socket = connect(new Socket(), port)) {
      assertThat(call(socket, "/slow", "keep-alive")).as("an answer that takes twice the idle timeout").isEqualTo("200 ok");
      assertThat(call(socket, "/reviews/1", "keep-alive")).as("the connection is still open").isEqualTo("200 ok");
      long idleFrom = System.nanoTime();

      assertThat(socket.getInputStream().read()).isEqualTo(-1);

      assertThat(Duration.ofNanos(System.nanoTime() - idleFrom)).isGreaterThanOrEqualTo(IDLE_TIMEOUT.minusMillis(50));
    }
    InboundFixture.awaitCount(() -> counted(InboundMetrics.CLOSED_CONNECTIONS, "reason", "idle_timeout") - idleBefore, 1,
        "connections closed for idleness");
  }

  private double counted(String name, String tag, String value) {
    return registry.find(name).tag(tag, value).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** {@code socket}, from the callers' address, connected to the door on {@code target}. */
  private static Socket connect(Socket socket, int target) throws IOException {
    socket.bind(new InetSocketAddress(InetAddress.getByName(CALLER), 0));
    socket.connect(new InetSocketAddress(CALLER, target), 5000);
    socket.setSoTimeout(10_000);
    return socket;
  }

  /** One HTTP/1.1 GET on {@code socket}: the status code and the body. */
  private static String call(Socket socket, String path, String connection) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: reviews:9080\r\nConnection: " + connection + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = socket.getInputStream();
    String head = head(in);
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
    return head.split(" ")[1] + " " + body;
  }

  private static String head(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the connection closed inside the response head: " + head);
      }
      head.write(b);
      matched = (b == '\r' || b == '\n') && "\r\n\r\n".charAt(matched) == b ? matched + 1 : 0;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A slow-loris attacker on {@link #ATTACKER}: keeps {@code maxConnections} connections open, each
   * after one byte, and reopens (every 100 ms) those the door closed. It records how long each lived.
   */
  private static final class Attack implements Runnable {
    private final int target;
    private final boolean tlsToo;
    private final Map<SocketChannel, Long> opened = new HashMap<>();
    /** How long each connection the door closed was open, in milliseconds. */
    final List<Long> lifetimes = new CopyOnWriteArrayList<>();
    private volatile boolean running = true;
    private int sent;

    Attack(int target, boolean tlsToo) {
      this.target = target;
      this.tlsToo = tlsToo;
    }

    void stop() {
      running = false;
    }

    @Override
    public void run() {
      try (Selector selector = Selector.open()) {
        while (running) {
          while (opened.size() < DOOR.maxConnections()) {
            open(selector);
          }
          // as a slow loris does: one round of reopening, then wait; its 96 refused connections a round
          // are not the load this test is about
          sleep(Duration.ofMillis(100));
          selector.selectNow();
          for (SelectionKey key : selector.selectedKeys()) {
            SocketChannel channel = (SocketChannel) key.channel();
            if (closedByTheDoor(channel)) {
              lifetimes.add(Duration.ofNanos(System.nanoTime() - opened.remove(channel)).toMillis());
              key.cancel();
              channel.close();
            }
          }
          selector.selectedKeys().clear();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        for (SocketChannel channel : opened.keySet()) {
          try {
            channel.close();
          } catch (IOException e) {
            // the attack is over either way
          }
        }
      }
    }

    private void open(Selector selector) throws IOException {
      SocketChannel channel = SocketChannel.open();
      channel.setOption(StandardSocketOptions.SO_LINGER, 0);
      channel.bind(new InetSocketAddress(InetAddress.getByName(ATTACKER), 0));
      channel.connect(new InetSocketAddress(CALLER, target));
      opened.put(channel, System.nanoTime());
      // the first byte of a TLS record, or of an HTTP request
      byte first = tlsToo && sent++ % 2 == 0 ? (byte) 0x16 : (byte) 'G';
      try {
        channel.write(ByteBuffer.wrap(new byte[] {first}));
      } catch (IOException e) {
        // refused before the byte went out: the selector sees it closed
      }
      channel.configureBlocking(false);
      channel.register(selector, SelectionKey.OP_READ);
    }

    private boolean closedByTheDoor(SocketChannel channel) {
      try {
        return channel.read(ByteBuffer.allocate(64)) < 0;
      } catch (IOException e) {
        return true;
      }
    }
  }
}
