package dev.inmesh.http.server.internal;

import dev.inmesh.http.server.PeerInfo;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.security.BufferedSocket;
import dev.inmesh.security.CertificateManager;
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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The door on a workload's public port. For each connection it reads the first byte (kept for the
 * relay), decides against the port's policy <em>now</em> ({@link DoorDecision}), terminates mesh
 * mTLS when the client speaks TLS, records the peer in the {@link ConnectionTable} under the port
 * the backend will see, and relays bytes both ways to the backend on loopback until both sides
 * are done. Each relay takes two daemon threads from a bounded pool.
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
   * @param maxConnections relays at once; more are refused as {@code overloaded}
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
      Duration handshakeTimeout,
      int maxConnections,
      java.util.List<String> applicationProtocols) {}

  private final Settings settings;
  private final Optional<InboundTls> tls;
  private final ConnectionTable table = new ConnectionTable();
  private final ThreadPoolExecutor relays;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  /** The pool's threads, joined by {@link #close()}: the pool counts itself ended before they exit. */
  private final Set<Thread> relayThreads = ConcurrentHashMap.newKeySet();
  private final RateLimitedLog refusals;
  private final AtomicInteger relaying = new AtomicInteger();
  private ServerSocket server;
  private Thread acceptor;
  private Gauge active;
  private volatile boolean closed;

  public FrontDoor(Settings settings) {
    this.settings = settings;
    this.tls = settings.certificates().map(c -> new InboundTls(c, settings.clock(), settings.applicationProtocols()));
    AtomicInteger threads = new AtomicInteger();
    this.relays = new ThreadPoolExecutor(0, 2 * settings.maxConnections(), 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
        r -> {
          Thread thread = new Thread(r, "inmesh-door-" + settings.port() + "-" + threads.incrementAndGet());
          thread.setDaemon(true);
          relayThreads.removeIf(t -> t.getState() == Thread.State.TERMINATED);
          relayThreads.add(thread);
          return thread;
        });
    this.refusals = new RateLimitedLog(log, settings.clock(), Duration.ofMinutes(1));
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
    acceptor = new Thread(this::acceptLoop, "inmesh-door-" + settings.port() + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
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
      try {
        relays.execute(() -> serve(socket));
      } catch (RejectedExecutionException e) {
        refuse(socket, RefusalReason.OVERLOADED, "port " + settings.port() + " relays " + settings.maxConnections()
            + " connections already: refused one");
      }
    }
  }

  private void serve(Socket raw) {
    String client = raw.getRemoteSocketAddress().toString();
    int first;
    try {
      raw.setTcpNoDelay(true);
      raw.setSoTimeout((int) settings.handshakeTimeout().toMillis());
      first = raw.getInputStream().read();
    } catch (IOException e) {
      log.debug("connection from {} to port {} ended before its first byte: {}", client, settings.port(), e.getMessage());
      closeQuietly(raw);
      return;
    }
    if (first < 0) {
      closeQuietly(raw);
      return;
    }
    DoorDecision decision = DoorDecision.decide(settings.port(), first, settings.policy().apply(settings.port()),
        tls.isPresent());
    if (decision instanceof DoorDecision.Refuse refuse) {
      refuse(raw, refuse.reason(), refuse.message() + " from " + client);
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
        InboundTls.Handshake handshake = tls.orElseThrow().handshake(raw, first, (int) settings.handshakeTimeout().toMillis());
        front = handshake.socket();
        peer = new PeerInfo(source, destination, PeerInfo.Security.MUTUAL_TLS, Optional.of(handshake.principal()),
            handshake.sni());
      } catch (IOException | RuntimeException e) {
        refuse(raw, RefusalReason.HANDSHAKE_FAILED, "mTLS handshake on port " + settings.port() + " (" + accept.policy().mode()
            + ", listener " + accept.policy().listener() + ") with " + client + " failed: " + e.getMessage());
        return;
      }
      prefix = new byte[0];
    } else {
      peer = new PeerInfo(source, destination, PeerInfo.Security.NONE, Optional.empty(), Optional.empty());
      prefix = new byte[] {(byte) first};
    }
    Socket backend = new Socket();
    try {
      backend.setTcpNoDelay(true);
      backend.connect(settings.backend(), (int) settings.handshakeTimeout().toMillis());
      front.setSoTimeout(0);
    } catch (IOException e) {
      closeQuietly(backend);
      closeQuietly(front);
      refuse(raw, RefusalReason.BACKEND_UNAVAILABLE, "port " + settings.port() + ": the server behind the door at "
          + settings.backend() + " did not take a connection: " + e.getMessage());
      return;
    }
    open.add(backend);
    if (closed) {
      // close() may have swept the open sockets before this one was added
      closeAll(front, backend);
      closeQuietly(raw);
      return;
    }
    relay(raw, front, backend, peer, prefix);
  }

  /** {@code front} is {@code raw} itself, or the TLS layer over it. */
  private void relay(Socket raw, Socket front, Socket backend, PeerInfo peer, byte[] prefix) {
    InetSocketAddress backendSide = (InetSocketAddress) backend.getLocalSocketAddress();
    table.put(backendSide, peer);
    relaying.incrementAndGet();
    log.debug("relaying {} ({}) on port {} as {}", peer.source(), peer.principal().map(Object::toString).orElse("plaintext"),
        settings.port(), backendSide);
    AtomicInteger pumps = new AtomicInteger(2);
    Runnable finish = () -> {
      if (pumps.decrementAndGet() == 0) {
        table.remove(backendSide, peer);
        relaying.decrementAndGet();
        closeAll(front, backend);
        closeQuietly(raw);
      }
    };
    try {
      relays.execute(() -> pump(backend, front, finish));
    } catch (RejectedExecutionException e) {
      table.remove(backendSide, peer);
      relaying.decrementAndGet();
      closeAll(front, backend);
      closeQuietly(raw);
      refusals.log(RefusalReason.OVERLOADED, "port " + settings.port() + ": no relay thread left for " + peer.source());
      settings.metrics().connectionRefused(settings.port(), RefusalReason.OVERLOADED);
      return;
    }
    settings.metrics().connectionAccepted(settings.port(), peer.security());
    try {
      backend.getOutputStream().write(prefix);
    } catch (IOException e) {
      closeAll(front, backend);
    }
    pump(front, backend, finish);
  }

  /** Copies until end of stream, then half-closes the other side; any error closes both. */
  private void pump(Socket from, Socket to, Runnable finish) {
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      byte[] buffer = new byte[BUFFER];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        n += gather(in, buffer, n);
        out.write(buffer, 0, n);
        out.flush();
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
    }
  }
}
