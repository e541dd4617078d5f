package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.resilience.Admission;
import dev.inmesh.internal.resilience.ConnectionLimiter;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.spi.UpstreamOverflowException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.net.SocketFactory;
import okhttp3.Connection;
import okhttp3.ConnectionPool;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * One OkHttp client per cluster, with a connection pool of its own, as Envoy keeps a pool per
 * cluster. Each takes the cluster's connection settings:
 * <ul>
 *   <li>{@code connect_timeout} (Istio's {@code tcp.connectTimeout}) as its connect timeout;
 *   <li>{@code idle_timeout} ({@code http.idleTimeout}) as the pool's keep-alive, so that a
 *       connection idle that long is closed; without one, {@value #DEFAULT_IDLE_MINUTES} minutes;
 *   <li>{@code max_requests_per_connection} ({@code http.maxRequestsPerConnection}): the request
 *       that uses up a connection goes with {@code Connection: close}, and the connection closes
 *       after its response;
 *   <li>{@code max_connections} ({@code tcp.maxConnections}): the pipeline's
 *       {@link dev.inmesh.internal.resilience.ConnectionLimiter} lets no more requests be in flight than
 *       that, one per HTTP/1.1 connection; here the pool keeps no more idle ones, and a new
 *       connection that would pass the limit first closes the idle ones.
 * </ul>
 * A cluster whose settings change gets a new client, and the old pool's idle connections are
 * closed. The clients of clusters that left the config go when the next client is made.
 */
final class ClusterClients {
  static final int DEFAULT_IDLE_MINUTES = 5;
  /** Idle connections a pool keeps at most, whatever the cluster's maxConnections. */
  static final int MAX_IDLE = 64;

  private final Mesh mesh;
  private final Map<Key, Entry> clients = new ConcurrentHashMap<>();

  private record Key(String cluster, Optional<UpstreamTls> tls) {}

  /** What a cluster's client is made of; the cluster's other limits are the pipeline's. */
  private record Settings(Duration connectTimeout, int maxConnections, int maxRequestsPerConnection,
      Optional<Duration> idleTimeout, boolean pendingLimited) {
    static Settings of(Duration connectTimeout, ConnectionLimits limits) {
      return new Settings(connectTimeout, limits.maxConnections(), limits.maxRequestsPerConnection(), limits.idleTimeout(),
          limits.maxPendingRequests() < Integer.MAX_VALUE);
    }
  }

  /** A cluster's client, the settings and base it was made of, and the config object they were last read from. */
  private record Entry(Settings settings, OkHttpClient base, OkHttpClient client, ClusterConfig config) {
    boolean madeOf(Settings settings, OkHttpClient base) {
      return this.settings.equals(settings) && this.base == base;
    }
  }

  /** The per-try timeout of one attempt, as a request tag: connect, read and write timeouts. */
  record AttemptTimeout(int millis) {}

  ClusterClients(Mesh mesh) {
    this.mesh = mesh;
  }

  /**
   * The client for calls to {@code cluster} over {@code tls}, made from {@code base} the first
   * time and again when the cluster's settings or the base client change (an originating TLS
   * client is made again when its files change).
   */
  OkHttpClient client(String cluster, Optional<UpstreamTls> tls, OkHttpClient base) {
    Optional<ClusterConfig> config = mesh.snapshot().cluster(cluster).map(runtime -> runtime.config());
    Key key = new Key(cluster, tls);
    Entry entry = clients.get(key);
    if (entry != null && config.isPresent() && entry.config() == config.get() && entry.base() == base) {
      // the config object it was made from: nothing changed, and nothing to compare (the call's hot path)
      return entry.client();
    }
    Settings settings = config.map(c -> Settings.of(c.connectTimeout(), c.limits()))
        .orElse(Settings.of(Duration.ofSeconds(10), ConnectionLimits.defaults()));
    if (entry != null && entry.madeOf(settings, base) && entry.config() == config.orElse(null)) {
      return entry.client();
    }
    ClusterConfig read = config.orElse(null);
    Entry made = clients.compute(key, (k, current) -> {
      if (current != null && current.madeOf(settings, base)) {
        // a new config with the same settings keeps the client and its connections
        return current.config() == read ? current : new Entry(settings, base, current.client(), read);
      }
      if (current != null) {
        current.client().connectionPool().evictAll();
      }
      return new Entry(settings, base, build(base, settings, () -> mesh.snapshot().cluster(cluster).map(r -> r.limiter())),
          read);
    });
    if (entry == null) {
      forgetClustersThatLeft();
    }
    return made.client();
  }

  private static OkHttpClient build(OkHttpClient base, Settings limits, Supplier<Optional<ConnectionLimiter>> limiter) {
    long idleMillis = limits.idleTimeout().map(Duration::toMillis).orElse(TimeUnit.MINUTES.toMillis(DEFAULT_IDLE_MINUTES));
    ConnectionPool pool = new ConnectionPool(Math.max(1, Math.min(MAX_IDLE, limits.maxConnections())),
        idleMillis, TimeUnit.MILLISECONDS);
    OkHttpClient.Builder builder = base.newBuilder()
        .connectionPool(pool)
        .connectTimeout(limits.connectTimeout())
        .socketFactory(new CappedSockets(base.socketFactory(), pool, limits.maxConnections()))
        .addInterceptor(new AttemptTimeouts(millis(limits.connectTimeout())));
    if (limits.pendingLimited()) {
      // a cluster without http1MaxPendingRequests (Istio's unlimited) counts no pending requests:
      // two interceptors fewer on every call
      builder.addInterceptor(new PendingWhileConnecting(pool, limiter)).addNetworkInterceptor(Connecting.CONNECTED);
    }
    if (limits.maxRequestsPerConnection() > 0) {
      builder.addNetworkInterceptor(new RequestsPerConnection(limits.maxRequestsPerConnection()));
    }
    return builder.build();
  }

  private void forgetClustersThatLeft() {
    clients.entrySet().removeIf(e -> {
      boolean gone = mesh.snapshot().cluster(e.getKey().cluster()).isEmpty();
      if (gone) {
        e.getValue().client().connectionPool().evictAll();
      }
      return gone;
    });
  }

  private static int millis(Duration duration) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, duration.toMillis()));
  }

  /**
   * The attempt's per-try timeout as connect, read and write timeouts; the cluster's connect
   * timeout when shorter. A connection attempt that timed out is a connect failure, as in Envoy
   * (503 UF, retried on {@code connect-failure}), not a per-try timeout.
   */
  private record AttemptTimeouts(int connectMillis) implements Interceptor {
    @Override
    public Response intercept(Chain chain) throws IOException {
      AttemptTimeout timeout = chain.request().tag(AttemptTimeout.class);
      Chain timed = chain;
      if (timeout != null) {
        timed = chain.withConnectTimeout(Math.min(connectMillis, timeout.millis()), TimeUnit.MILLISECONDS)
            .withReadTimeout(timeout.millis(), TimeUnit.MILLISECONDS)
            .withWriteTimeout(timeout.millis(), TimeUnit.MILLISECONDS);
      }
      try {
        return timed.proceed(chain.request());
      } catch (SocketTimeoutException e) {
        if (e.getMessage() != null && e.getMessage().toLowerCase(Locale.ROOT).contains("connect timed out")) {
          ConnectException failure = new ConnectException("connect timeout after " + timed.connectTimeoutMillis() + " ms to "
              + chain.request().url().host() + ":" + chain.request().url().port());
          failure.initCause(e);
          throw failure;
        }
        throw e;
      }
    }
  }

  /**
   * As in Envoy, a request that must wait for a new connection to be made is one of the cluster's
   * pending requests until it is connected: with {@code http1MaxPendingRequests} already pending
   * it is refused ({@link UpstreamOverflowException}, 503 {@code UO}). A request that finds an
   * idle connection is never pending.
   */
  private record PendingWhileConnecting(ConnectionPool pool, Supplier<Optional<ConnectionLimiter>> limiter)
      implements Interceptor {
    @Override
    public Response intercept(Chain chain) throws IOException {
      // an idle connection first: most calls find one, and need not look the cluster up
      if (pool.idleConnectionCount() > 0) {
        return chain.proceed(chain.request());
      }
      Optional<ConnectionLimiter> cluster = limiter.get();
      if (cluster.isEmpty()) {
        return chain.proceed(chain.request());
      }
      Optional<Admission.Refusal> refused = cluster.get().startConnecting();
      if (refused.isPresent()) {
        throw new UpstreamOverflowException(refused.get());
      }
      Connecting connecting = new Connecting(cluster.get());
      try {
        return chain.proceed(chain.request().newBuilder().tag(Connecting.class, connecting).build());
      } finally {
        connecting.done();
      }
    }
  }

  /** A request connecting as a pending request; done once its connection is up or the call is over. */
  private static final class Connecting {
    /** The network interceptor: it runs once the connection is up. */
    static final Interceptor CONNECTED = chain -> {
      Connecting connecting = chain.request().tag(Connecting.class);
      if (connecting != null) {
        connecting.done();
      }
      return chain.proceed(chain.request());
    };
    private final ConnectionLimiter limiter;
    private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

    Connecting(ConnectionLimiter limiter) {
      this.limiter = limiter;
    }

    void done() {
      if (done.compareAndSet(false, true)) {
        limiter.connected();
      }
    }
  }

  /**
   * Envoy's {@code max_requests_per_connection}: the request that uses up its connection asks for
   * the connection to close, which OkHttp does after the response. HTTP/2 drops the header; Inmesh
   * clients speak HTTP/1.1 to the mesh.
   */
  private static final class RequestsPerConnection implements Interceptor {
    private final int max;
    /** Requests sent per live connection; a closed connection's count goes with it. */
    private final Map<Connection, AtomicInteger> sent = Collections.synchronizedMap(new WeakHashMap<>());

    RequestsPerConnection(int max) {
      this.max = max;
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
      Request request = chain.request();
      Connection connection = chain.connection();
      if (connection != null && sent.computeIfAbsent(connection, c -> new AtomicInteger()).incrementAndGet() >= max) {
        request = request.newBuilder().header("Connection", "close").build();
      }
      return chain.proceed(request);
    }
  }

  /**
   * The pool's sockets. A request reaches here holding one of the cluster's {@code maxConnections}
   * slots and finding no idle connection to its endpoint; if the pool is full all the same, its
   * idle connections (to other endpoints) are closed first, so that the cluster keeps at most
   * {@code maxConnections} open.
   */
  private static final class CappedSockets extends SocketFactory {
    private final SocketFactory delegate;
    private final ConnectionPool pool;
    private final int maxConnections;

    CappedSockets(SocketFactory delegate, ConnectionPool pool, int maxConnections) {
      this.delegate = delegate;
      this.pool = pool;
      this.maxConnections = maxConnections;
    }

    private void makeRoom() {
      if (pool.connectionCount() >= maxConnections) {
        pool.evictAll();
      }
    }

    @Override
    public Socket createSocket() throws IOException {
      makeRoom();
      return delegate.createSocket();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      makeRoom();
      return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      makeRoom();
      return delegate.createSocket(host, port, localHost, localPort);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      makeRoom();
      return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
      makeRoom();
      return delegate.createSocket(address, port, localAddress, localPort);
    }
  }
}
