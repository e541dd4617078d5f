package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import dev.inmesh.internal.model.TlsOrigination;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.security.BufferedSocket;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.OriginatedTls;
import dev.inmesh.internal.security.SpiffeTrustManager;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;

/**
 * OkHttp clients for mesh mutual TLS, one per set of server identities, all sharing the caller's
 * dispatcher and one connection pool of their own. Each presents this workload's certificate
 * through the CertificateManager's key manager (so a rotated certificate reaches the next
 * handshake) and trusts a server only when its certificate chains to a mesh root and carries one
 * of the cluster's SPIFFE IDs. The host name is not checked: in a mesh it says nothing about who
 * answers, the SPIFFE ID does. Application interceptors are left out; they already ran for the call.
 *
 * <p>The pool keeps up to {@value #IDLE_CONNECTIONS} idle mTLS connections for five minutes, as a
 * sidecar keeps its upstream connections: a handshake costs milliseconds of CPU, and OkHttp's
 * default pool (five idle connections, shared with the caller's plaintext hosts) closed them after
 * every burst, so that the next burst paid a handshake per call and slowed itself into more of them.
 */
final class MeshTlsClients {
  static final int IDLE_CONNECTIONS = 64;
  private final Mesh mesh;
  private final OkHttpClient base;
  private final Map<UpstreamTls, OkHttpClient> clients = new ConcurrentHashMap<>();
  /** Originated TLS: a client per settings and server name, rebuilt when one of its files changes. */
  /** How many originating clients are kept at most (one per destination TLS and host name). */
  static final int MAX_ORIGINATING = 256;
  private final Map<OriginationKey, Originating> originating = new ConcurrentHashMap<>();

  private record OriginationKey(UpstreamTls tls, String serverName) {}

  private record Originating(java.util.List<Object> files, OkHttpClient client) {}

  MeshTlsClients(Mesh mesh, OkHttpClient caller) {
    this.mesh = mesh;
    // retryOnConnectionFailure stays the caller's, as on plaintext calls: a pooled connection the
    // server closed while idle (the JDK's server closes them after 30 s) is then replaced, not failed
    OkHttpClient.Builder builder = caller.newBuilder()
        .connectionPool(new ConnectionPool(IDLE_CONNECTIONS, 5, TimeUnit.MINUTES));
    builder.interceptors().clear();
    this.base = builder.build();
  }

  /** The client for a cluster's mTLS settings; fails when this Mesh has no certificate. */
  OkHttpClient client(UpstreamTls tls) {
    return clients.computeIfAbsent(tls, this::build);
  }

  /**
   * The client for a cluster's TLS, mesh mTLS or originated. Originated TLS sends the configured SNI,
   * or with auto SNI the host the call is for ({@code authorityHost}), and reads its files again
   * when one of them changed since the last connection; a file that cannot be read fails the call.
   */
  OkHttpClient client(UpstreamTls tls, String authorityHost) throws IOException {
    if (tls.origination().isEmpty()) {
      return client(tls);
    }
    TlsOrigination origination = tls.origination().get();
    String serverName = !tls.sni().isEmpty() ? tls.sni() : origination.autoSni() ? authorityHost : "";
    // auto SAN validation checks the host the call is for, as Envoy checks the Host header, with or without auto SNI
    String checkedName = !serverName.isEmpty() ? serverName : authorityHost;
    OriginationKey key = new OriginationKey(tls, checkedName);
    java.util.List<Object> files = OriginatedTls.fileStamps(origination);
    Originating current = originating.get(key);
    if (current != null && current.files().equals(files)) {
      return current.client();
    }
    OriginatedTls.Context context = OriginatedTls.load(origination, tls.identities(), checkedName);
    SSLSocketFactory factory = context.sslContext().getSocketFactory();
    OkHttpClient client = base.newBuilder()
        .socketFactory(NoDelaySockets.INSTANCE)
        .sslSocketFactory(serverName.isEmpty() || !isHostName(serverName) ? factory : new SniSocketFactory(factory, serverName),
            context.trustManager())
        // the trust manager checked the names the DestinationRule asks for, against the SNI, not the endpoint's address
        .hostnameVerifier((host, session) -> true)
        .build();
    if (originating.size() >= MAX_ORIGINATING && !originating.containsKey(key)) {
      // bounded: one client per originated destination and host name; past the bound, some other one goes
      originating.keySet().stream().findFirst().ifPresent(originating::remove);
    }
    originating.put(key, new Originating(files, client));
    return client;
  }

  private OkHttpClient build(UpstreamTls tls) {
    CertificateManager certificates = mesh.certificates().orElseThrow(() -> new IllegalStateException(
        "mutual TLS to " + tls.identities() + " needs a mesh certificate; build the Mesh with certificateAuthority(...)"));
    SpiffeTrustManager trust = new SpiffeTrustManager(certificates::trustAnchors,
        peer -> tls.identities().contains(peer.toString()), Clock.systemUTC());
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {certificates.keyManager()}, new TrustManager[] {trust}, null);
      SSLSocketFactory factory = context.getSocketFactory();
      return base.newBuilder()
          // a TLS handshake writes its flight in several records: with Nagle's algorithm on, the
          // client's second record waits for the server's delayed ACK (~40 ms per new connection)
          .socketFactory(NoDelaySockets.INSTANCE)
          .sslSocketFactory(tls.sni().isEmpty() || !isHostName(tls.sni()) ? factory : new SniSocketFactory(factory, tls.sni()), trust)
          .hostnameVerifier((host, session) -> true)
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JRE has TLS", e);
    }
  }

  /** JSSE sends and accepts only LDH host names as SNI; another name (Istio's outbound_.…) is not sent. */
  private static boolean isHostName(String sni) {
    try {
      new SNIHostName(sni);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Sends a fixed server name, as Envoy sends the cluster's {@code sni}; OkHttp sends none for IPs. */
  private static final class SniSocketFactory extends SSLSocketFactory {
    private final SSLSocketFactory delegate;
    private final List<javax.net.ssl.SNIServerName> serverNames;

    SniSocketFactory(SSLSocketFactory delegate, String sni) {
      this.delegate = delegate;
      this.serverNames = List.of(new SNIHostName(sni));
    }

    private Socket named(Socket socket) {
      if (socket instanceof SSLSocket ssl) {
        SSLParameters parameters = ssl.getSSLParameters();
        parameters.setServerNames(serverNames);
        ssl.setSSLParameters(parameters);
      }
      return socket;
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return delegate.getSupportedCipherSuites();
    }

    @Override
    public Socket createSocket(Socket socket, String host, int port, boolean autoClose) throws IOException {
      return named(delegate.createSocket(socket, host, port, autoClose));
    }

    @Override
    public Socket createSocket() throws IOException {
      return named(delegate.createSocket());
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return named(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return named(delegate.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return named(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
      return named(delegate.createSocket(address, port, localAddress, localPort));
    }
  }

  /**
   * Plain sockets with TCP_NODELAY, under the TLS layer, whose input is buffered so that a
   * record's header and body come in one read ({@link BufferedSocket}).
   */
  private static final class NoDelaySockets extends javax.net.SocketFactory {
    static final NoDelaySockets INSTANCE = new NoDelaySockets();

    @Override
    public Socket createSocket() throws IOException {
      Socket socket = new BufferedSocket();
      socket.setTcpNoDelay(true);
      return socket;
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
      return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    /** An unresolved {@code remote} fails in {@code connect}, with UnknownHostException, as {@code new Socket(host, port)} does. */
    private Socket connected(InetSocketAddress remote, InetSocketAddress local) throws IOException {
      Socket socket = createSocket();
      try {
        if (local != null) {
          socket.bind(local);
        }
        socket.connect(remote);
        return socket;
      } catch (IOException e) {
        socket.close();
        throw e;
      }
    }
  }
}
