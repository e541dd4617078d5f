package dev.inmesh.internal.inbound;

import dev.inmesh.Ticker;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.security.BufferedSocket;
import dev.inmesh.internal.security.CertificateManager;
import io.micrometer.core.instrument.Gauge;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The door on a workload's public port. For each connection it checks the door's and the client
 * address's connection limits, reads the first byte (kept for the relay), decides against the
 * port's policy <em>now</em> ({@link DoorDecision}), terminates mesh mTLS when the client speaks
 * TLS, records the peer in the {@link ConnectionTable} under the port the backend will see, and
 * relays bytes both ways to the backend on loopback until both sides are done. Each relay takes two
 * daemon threads from a bounded pool. A timer closes connections whose first request head is late
 * and those idle too long ({@link DoorConnection#overdue}).
 */
public final class FrontDoor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FrontDoor.class);
  /**
   * A relay's reads: as large as an accepted socket's own buffer, so that a plaintext relay's reads
   * go straight to the socket once the bytes read ahead are used, not copied through that buffer.
   */
  private static final int BUFFER = BufferedSocket.BUFFER;

  /**
   * Everything a door needs.
   *
   * @param port the public port (the workload's registered target port)
   * @param bindAddress where to listen
   * @param backend the real HTTP server, on loopback
   * @param policy the port's policy at the moment of asking
   * @param clock certificate validity and the log's rate limit
   * @param ticker the door's timeouts
   * @param config timeouts and connection limits
   * @param applicationProtocols what TLS clients may negotiate by ALPN ({@code h2} for gRPC); empty offers none
   */
  public record Settings(
      int port,
      InetAddress bindAddress,
      InetSocketAddress backend,
      IntFunction<Optional<InboundPolicy>> policy,
      Optional<CertificateManager> certificates,
      InboundMetrics metrics,
      Clock clock,
      Ticker ticker,
      DoorConfig config,
      java.util.List<String> applicationProtocols) {}

  /** What a pump tells about the bytes it has just passed on. */
  @FunctionalInterface
  private interface Passed {
    void bytes(byte[] buffer, int offset, int length);
  }

  private final Settings settings;
  private final Optional<InboundTls> tls;
  private final ConnectionTable table = new ConnectionTable();
  private final DoorConnections connections;
  private final ThreadPoolExecutor relays;
  private final ScheduledExecutorService timer;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  /** The door's threads (relays, timer), joined by {@link #close()}: a pool counts itself ended before they exit. */
  private final Set<Thread> relayThreads = ConcurrentHashMap.newKeySet();
  private final RateLimitedLog refusals;
  private final AtomicInteger relaying = new AtomicInteger();
  private ServerSocket server;
  private Thread acceptor;
  private Gauge active;
  private Gauge held;
  private volatile boolean closed;

  public FrontDoor(Settings settings) {
    this.settings = settings;
    this.tls = settings.certificates().map(c -> new InboundTls(c, settings.clock(), settings.applicationProtocols()));
    this.connections = new DoorConnections(settings.config(), settings.ticker());
    AtomicInteger threads = new AtomicInteger();
    this.relays = new ThreadPoolExecutor(0, 2 * settings.config().maxConnections(), 30, TimeUnit.SECONDS,
        new SynchronousQueue<>(), r -> thread(r, Integer.toString(threads.incrementAndGet())));
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "timer"));
    this.refusals = new RateLimitedLog(log, settings.clock(), Duration.ofMinutes(1));
  }

  /** A daemon thread of this door, joined by {@link #close()}. */
  private Thread thread(Runnable task, String name) {
    Thread thread = new Thread(task, "inmesh-door-" + settings.port() + "-" + name);
    thread.setDaemon(true);
    relayThreads.removeIf(t -> t.getState() == Thread.State.TERMINATED);
    relayThreads.add(thread);
    return thread;
  }

  /** Binds the public port and starts accepting; fails with the port named when it is taken. */
  public synchronized void start() throws IOException {
    // accepted sockets buffer their input: the TLS layer then reads a record in one system call
    ServerSocket socket = BufferedSocket.serverSocket();
    socket.setReuseAddress(true);
    try {
      socket.bind(new InetSocketAddress(settings.bindAddress(), settings.port()), 128);
    } catch (IOException e) {
      socket.close();
      throw new IOException("the inbound door cannot listen on " + settings.bindAddress().getHostAddress() + ":"
          + settings.port() + ": " + e.getMessage(), e);
    }
    server = socket;
    active = settings.metrics().activeConnections(settings.port(), relaying::get);
    held = settings.metrics().openConnections(settings.port(), connections::size);
    acceptor = new Thread(this::acceptLoop, "inmesh-door-" + settings.port() + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    long tick = sweepInterval(settings.config()).toMillis();
    timer.scheduleWithFixedDelay(this::closeOverdue, tick, tick, TimeUnit.MILLISECONDS);
    log.info("inbound door on {}:{} relays to {}", settings.bindAddress().getHostAddress(), settings.port(),
        settings.backend());
  }

  public ConnectionTable connections() {
    return table;
  }

  public int port() {
    return settings.port();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket socket;
      try {
        socket = server.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("the inbound door on port {} stopped accepting: {}", settings.port(), e.getMessage());
        }
        return;
      }
      open.add(socket);
      DoorConnections.Opened opened = connections.open(socket, socket.getInetAddress());
      if (opened instanceof DoorConnections.Refused refused) {
        refuse(socket, refused.reason(), "port " + settings.port() + " " + refused.message());
        continue;
      }
      DoorConnection connection = ((DoorConnections.Accepted) opened).connection();
      try {
        relays.execute(() -> serve(connection));
      } catch (RejectedExecutionException e) {
        connections.closed(connection);
        refuse(socket, RefusalReason.OVERLOADED, "port " + settings.port() + ": no relay thread left: refused a connection"
            + " from " + connection.source().getHostAddress());
      }
    }
  }

  private void serve(DoorConnection connection) {
    Socket raw = connection.raw();
    String client = raw.getRemoteSocketAddress().toString();
    int headerMillis = (int) settings.config().headerTimeout().toMillis();
    // a backstop: the timer closes a connection at the header timeout itself, and counts why
    int readMillis = (int) Math.min(Integer.MAX_VALUE, 2L * headerMillis);
    int first;
    try {
      raw.setTcpNoDelay(true);
      raw.setSoTimeout(readMillis);
      first = raw.getInputStream().read();
    } catch (IOException e) {
      log.debug("connection from {} to port {} ended before its first byte: {}", client, settings.port(), e.getMessage());
      end(connection);
      return;
    }
    if (first < 0) {
      end(connection);
      return;
    }
    DoorDecision decision = DoorDecision.decide(settings.port(), first, settings.policy().apply(settings.port()),
        tls.isPresent());
    if (decision instanceof DoorDecision.Refuse refuse) {
      refuse(raw, refuse.reason(), refuse.message() + " from " + client);
      connections.closed(connection);
      return;
    }
    DoorDecision.Accept accept = (DoorDecision.Accept) decision;
    Socket front = raw;
    PeerInfo peer;
    byte[] prefix;
    InetSocketAddress source = (InetSocketAddress) raw.getRemoteSocketAddress();
    InetSocketAddress destination = (InetSocketAddress) raw.getLocalSocketAddress();
    if (accept.transport() == DoorDecision.Transport.TLS) {
      try {
        InboundTls.Handshake handshake = tls.orElseThrow().handshake(raw, first, readMillis);
        front = handshake.socket();
        peer = new PeerInfo(source, destination, PeerInfo.Security.MUTUAL_TLS, Optional.of(handshake.principal()),
            handshake.sni());
      } catch (IOException | RuntimeException e) {
        if (connection.expired()) {
          // the timer closed it and counted why
          end(connection);
          return;
        }
        refuse(raw, RefusalReason.HANDSHAKE_FAILED, "mTLS handshake on port " + settings.port() + " (" + accept.policy().mode()
            + ", listener " + accept.policy().listener() + ") with " + client + " failed: " + e.getMessage());
        connections.closed(connection);
        return;
      }
      prefix = new byte[0];
    } else {
      peer = new PeerInfo(source, destination, PeerInfo.Security.NONE, Optional.empty(), Optional.empty());
      prefix = new byte[] {(byte) first};
    }
    byte[] head;
    try {
      head = firstHead(front.getInputStream(), prefix, connection);
    } catch (IOException e) {
      if (!connection.expired()) {
        log.debug("connection from {} to port {} ended inside its first request head: {}", client, settings.port(),
            e.getMessage());
      }
      closeQuietly(front);
      end(connection);
      return;
    }
    Socket backend = new Socket();
    try {
      backend.setTcpNoDelay(true);
      backend.connect(settings.backend(), headerMillis);
      front.setSoTimeout(0);
    } catch (IOException e) {
      closeQuietly(backend);
      closeQuietly(front);
      refuse(raw, RefusalReason.BACKEND_UNAVAILABLE, "port " + settings.port() + ": the server behind the door at "
          + settings.backend() + " did not take a connection: " + e.getMessage());
      connections.closed(connection);
      return;
    }
    open.add(backend);
    if (closed || connection.expired()) {
      // close() or the timer may have swept the connection before this socket was added
      closeAll(front, backend);
      end(connection);
      return;
    }
    relay(connection, front, backend, peer, head);
  }

  /**
   * The client's bytes up to the end of its first request head, {@code prefix} first, so that the
   * server behind the door never waits on a slow client's head (the JDK's server reads heads on one
   * thread by default). A head longer than a relay buffer, or one the client ends its stream
   * inside, goes on as it is; the header timeout still applies.
   */
  private static byte[] firstHead(InputStream in, byte[] prefix, DoorConnection connection) throws IOException {
    byte[] buffer = new byte[BUFFER];
    System.arraycopy(prefix, 0, buffer, 0, prefix.length);
    int filled = prefix.length;
    connection.clientSent(buffer, 0, filled);
    while (!connection.headed() && filled < buffer.length) {
      int n = in.read(buffer, filled, buffer.length - filled);
      if (n < 0) {
        break;
      }
      connection.clientSent(buffer, filled, n);
      filled += n;
    }
    return java.util.Arrays.copyOf(buffer, filled);
  }

  /** {@code front} is the connection's socket itself, or the TLS layer over it. */
  private void relay(DoorConnection connection, Socket front, Socket backend, PeerInfo peer, byte[] head) {
    ConnectionTable.Relay relay = new ConnectionTable.Relay((InetSocketAddress) backend.getLocalSocketAddress(), peer,
        connection);
    table.put(relay);
    relaying.incrementAndGet();
    log.debug("relaying {} ({}) on port {} as {}", peer.source(), peer.principal().map(Object::toString).orElse("plaintext"),
        settings.port(), relay.backendSide());
    AtomicInteger pumps = new AtomicInteger(2);
    Runnable finish = () -> {
      if (pumps.decrementAndGet() == 0) {
        table.remove(relay);
        relaying.decrementAndGet();
        closeAll(front, backend);
        end(connection);
      }
    };
    try {
      relays.execute(() -> pump(backend, front, (buffer, offset, length) -> connection.responded(), finish));
    } catch (RejectedExecutionException e) {
      table.remove(relay);
      relaying.decrementAndGet();
      closeAll(front, backend);
      end(connection);
      refusals.log(RefusalReason.OVERLOADED, "port " + settings.port() + ": no relay thread left for " + peer.source());
      settings.metrics().connectionRefused(settings.port(), RefusalReason.OVERLOADED);
      return;
    }
    settings.metrics().connectionAccepted(settings.port(), peer.security());
    try {
      backend.getOutputStream().write(head);
    } catch (IOException e) {
      closeAll(front, backend);
    }
    pump(front, backend, connection::clientSent, finish);
  }

  /** Copies until end of stream, then half-closes the other side; any error closes both. */
  private void pump(Socket from, Socket to, Passed passed, Runnable finish) {
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      byte[] buffer = new byte[BUFFER];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        n += gather(in, buffer, n);
        out.write(buffer, 0, n);
        out.flush();
        passed.bytes(buffer, 0, n);
      }
      try {
        to.shutdownOutput();
      } catch (IOException | UnsupportedOperationException e) {
        closeAll(from, to);
      }
    } catch (IOException e) {
      if (!(e instanceof SocketException) || !closed) {
        log.debug("relay on port {} ended: {}", settings.port(), e.getMessage());
      }
      closeAll(from, to);
    } finally {
      finish.run();
    }
  }

  /**
   * Reads what has already arrived behind the first read, without waiting: the JDK's server writes
   * a response's headers and body apart, and sent on as one write they cost one TLS record (one
   * encryption here, one decryption at the client) instead of two.
   */
  private static int gather(InputStream in, byte[] buffer, int filled) throws IOException {
    int added = 0;
    int ready;
    while (filled + added < buffer.length && (ready = in.available()) > 0) {
      int n = in.read(buffer, filled + added, Math.min(ready, buffer.length - filled - added));
      if (n < 0) {
        break;
      }
      added += n;
    }
    return added;
  }

  private void refuse(Socket socket, RefusalReason reason, String message) {
    settings.metrics().connectionRefused(settings.port(), reason);
    refusals.log(reason, message);
    closeQuietly(socket);
  }

  /** Closes what the timer finds overdue; the relay threads then see their sockets closed and end. */
  private void closeOverdue() {
    try {
      for (DoorConnections.Overdue due : connections.overdue()) {
        DoorConnection connection = due.connection();
        connection.expire(due.timeout());
        settings.metrics().connectionClosed(settings.port(), due.timeout().tag());
        refusals.log(due.timeout(), "port " + settings.port() + ": closed a connection from "
            + connection.source().getHostAddress() + (due.timeout() == DoorConnection.Timeout.HEADER
                ? " that sent no complete request head within " + settings.config().headerTimeout().toMillis() + " ms"
                : " idle for " + settings.config().idleTimeout().toMillis() + " ms"));
        end(connection);
      }
    } catch (RuntimeException e) {
      // a failed sweep must not end the timer: the next one tries again
      log.warn("the door on port {} could not close overdue connections", settings.port(), e);
    }
  }

  /** How often the timer looks: a quarter of the shorter timeout, between 10 ms and 1 s. */
  static Duration sweepInterval(DoorConfig config) {
    Duration shorter = config.headerTimeout().compareTo(config.idleTimeout()) < 0 ? config.headerTimeout() : config.idleTimeout();
    Duration quarter = shorter.dividedBy(4);
    if (quarter.compareTo(Duration.ofMillis(10)) < 0) {
      return Duration.ofMillis(10);
    }
    return quarter.compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1) : quarter;
  }

  /** The connection is over: its socket closed and its slot free. */
  private void end(DoorConnection connection) {
    closeQuietly(connection.raw());
    connections.closed(connection);
  }

  private void closeAll(Socket a, Socket b) {
    closeQuietly(a);
    closeQuietly(b);
  }

  private void closeQuietly(Socket socket) {
    open.remove(socket);
    try {
      socket.close();
    } catch (IOException e) {
      // closing is best effort: the peer may have gone already
    }
  }

  /** Stops accepting; relays in progress go on until {@link #close()}. */
  public synchronized void stopAccepting() {
    closed = true;
    if (server != null) {
      try {
        server.close();
      } catch (IOException e) {
        log.debug("closing the door on port {}: {}", settings.port(), e.getMessage());
      }
    }
  }

  /** Stops accepting, closes every connection and waits for the door's threads to end. */
  @Override
  public void close() {
    stopAccepting();
    for (Socket socket : open) {
      closeQuietly(socket);
    }
    relays.shutdownNow();
    timer.shutdownNow();
    try {
      if (acceptor != null) {
        acceptor.join(TimeUnit.SECONDS.toMillis(5));
      }
      // joined, not awaited: the pool counts itself terminated once its last worker has signalled,
      // which is before that worker's thread has exited; after shutdownNow it makes no new thread
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      boolean ended = true;
      for (Thread thread : relayThreads) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left > 0) {
          thread.join(left);
        }
        ended &= !thread.isAlive();
      }
      if (!ended) {
        log.warn("relay threads of the door on port {} did not end within 5 s", settings.port());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (active != null) {
      settings.metrics().registry().remove(active);
      settings.metrics().registry().remove(held);
    }
  }
}
