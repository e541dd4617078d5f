package dev.inmesh.benchmarks.loopback;

import com.sun.management.OperatingSystemMXBean;
import dev.inmesh.internal.security.BufferedSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.HdrHistogram.Histogram;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * What the JDK's TLS costs by itself, without Inmesh: one client and one server thread on
 * loopback sockets exchange a 100-byte request for a response written as Inmesh's door relays a
 * JDK server's (150 bytes of headers, then 1 KB of body), over plain sockets, over mutual TLS 1.3
 * with P-256 certificates as the JDK's sockets read it, and over the same TLS on {@link
 * BufferedSocket}s as Inmesh reads it (one system call per record received, not two), alternating.
 * The difference between plain and TLS is the floor under P7's added latency.
 *
 * <p>With a pause, each round trip starts after that many µs of sleep, as a request of an open loop
 * at 1,000 rps finds its threads and caches: back to back, the TLS code stays in the CPU's caches
 * between round trips.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.TlsEcho [round trips per round] [rounds] [pause µs]}
 */
public final class TlsEcho {
  private static final int REQUEST = 100;
  private static final byte[] HEADERS = new byte[150];
  private static final byte[] BODY = new byte[1024];

  private TlsEcho() {}

  /**
   * p50 latency and CPU per round trip, in µs, of plain sockets, of mutual TLS, and of mutual TLS
   * over buffered sockets.
   */
  public record Result(double plainP50Micros, double tlsP50Micros, double bufferedP50Micros, double plainCpuMicros,
      double tlsCpuMicros, double bufferedCpuMicros) {}

  public static void main(String[] args) throws Exception {
    int roundTrips = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    long pauseMicros = args.length > 2 ? Long.parseLong(args[2]) : 0;
    Result result = run(roundTrips, rounds, pauseMicros, System.out);
    System.out.printf(Locale.ROOT, "mutual TLS over plain sockets: +%.1f µs p50, +%.1f µs CPU per round trip%n",
        result.tlsP50Micros() - result.plainP50Micros(), result.tlsCpuMicros() - result.plainCpuMicros());
    System.out.printf(Locale.ROOT, "mutual TLS over buffered sockets: +%.1f µs p50, +%.1f µs CPU per round trip%n",
        result.bufferedP50Micros() - result.plainP50Micros(), result.bufferedCpuMicros() - result.plainCpuMicros());
  }

  public static Result run(int roundTrips, int rounds, PrintStream out) throws Exception {
    return run(roundTrips, rounds, 0, out);
  }

  /** @param pauseMicros sleep before each round trip; 0 runs them back to back */
  public static Result run(int roundTrips, int rounds, long pauseMicros, PrintStream out) throws Exception {
    SSLContext tls = mutualContext();
    try (ServerSocket plainServer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
         SSLServerSocket tlsServer = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 50,
             InetAddress.getLoopbackAddress());
         ServerSocket bufferedServer = BufferedSocket.serverSocket()) {
      tlsServer.setNeedClientAuth(true);
      bufferedServer.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
      serve(plainServer, socket -> socket);
      serve(tlsServer, socket -> socket);
      // as the door does: TLS over the accepted buffered socket
      serve(bufferedServer, socket -> {
        SSLSocket layered = (SSLSocket) tls.getSocketFactory().createSocket(socket, InputStream.nullInputStream(), true);
        layered.setNeedClientAuth(true);
        return layered;
      });
      BufferedSocket bufferedPlain = new BufferedSocket();
      bufferedPlain.setTcpNoDelay(true);
      bufferedPlain.connect(bufferedServer.getLocalSocketAddress());
      try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), plainServer.getLocalPort());
           SSLSocket secure = (SSLSocket) tls.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
               tlsServer.getLocalPort());
           // as the mesh's mTLS client does: TLS over a buffered socket
           SSLSocket buffered = (SSLSocket) tls.getSocketFactory().createSocket(bufferedPlain, "localhost",
               bufferedServer.getLocalPort(), true)) {
        plain.setTcpNoDelay(true);
        secure.setTcpNoDelay(true);
        secure.startHandshake();
        buffered.startHandshake();
        Histogram plainLatencies = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        Histogram tlsLatencies = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        Histogram bufferedLatencies = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long plainCpu = 0;
        long tlsCpu = 0;
        long bufferedCpu = 0;
        for (int round = 0; round <= rounds; round++) {
          // round 0 warms all three up and is not counted
          Histogram a = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
          long cpuA = roundTrips(plain, roundTrips, pauseMicros, a);
          Histogram b = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
          long cpuB = roundTrips(secure, roundTrips, pauseMicros, b);
          Histogram c = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
          long cpuC = roundTrips(buffered, roundTrips, pauseMicros, c);
          if (round > 0) {
            plainLatencies.add(a);
            tlsLatencies.add(b);
            bufferedLatencies.add(c);
            plainCpu += cpuA;
            tlsCpu += cpuB;
            bufferedCpu += cpuC;
            out.printf(Locale.ROOT, "round %d: plain p50 %.1f µs, %.1f µs CPU; mutual TLS p50 %.1f µs, %.1f µs CPU;"
                    + " over buffered sockets p50 %.1f µs, %.1f µs CPU%n", round,
                a.getValueAtPercentile(50) / 1000.0, cpuA / 1000.0 / roundTrips, b.getValueAtPercentile(50) / 1000.0,
                cpuB / 1000.0 / roundTrips, c.getValueAtPercentile(50) / 1000.0, cpuC / 1000.0 / roundTrips);
          }
        }
        double trips = (double) roundTrips * rounds;
        return new Result(plainLatencies.getValueAtPercentile(50) / 1000.0, tlsLatencies.getValueAtPercentile(50) / 1000.0,
            bufferedLatencies.getValueAtPercentile(50) / 1000.0, plainCpu / 1000.0 / trips, tlsCpu / 1000.0 / trips,
            bufferedCpu / 1000.0 / trips);
      }
    }
  }

  /** What the server puts over an accepted socket before it reads: nothing, or a TLS layer. */
  private interface Layer {
    Socket over(Socket accepted) throws IOException;
  }

  /** Round trips, each after the pause; returns the CPU this JVM used meanwhile, in ns (client and server). */
  private static long roundTrips(Socket socket, int count, long pauseMicros, Histogram latencies) throws IOException {
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    InputStream in = socket.getInputStream();
    OutputStream out = socket.getOutputStream();
    byte[] request = new byte[REQUEST];
    byte[] response = new byte[HEADERS.length + BODY.length];
    long cpu = os.getProcessCpuTime();
    for (int i = 0; i < count; i++) {
      if (pauseMicros > 0) {
        LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(pauseMicros));
      }
      long start = System.nanoTime();
      out.write(request);
      out.flush();
      readFully(in, response);
      latencies.recordValue(System.nanoTime() - start);
    }
    return os.getProcessCpuTime() - cpu;
  }

  private static void serve(ServerSocket server, Layer layer) {
    Thread acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket accepted = server.accept();
          accepted.setTcpNoDelay(true);
          Socket socket = layer.over(accepted);
          Thread connection = new Thread(() -> echo(socket), "tls-echo-server");
          connection.setDaemon(true);
          connection.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "tls-echo-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private static void echo(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      byte[] request = new byte[REQUEST];
      while (readFully(in, request)) {
        out.write(HEADERS);
        out.flush();
        out.write(BODY);
        out.flush();
      }
    } catch (IOException e) {
      // the client closed
    }
  }

  private static boolean readFully(InputStream in, byte[] buffer) throws IOException {
    int n = 0;
    while (n < buffer.length) {
      int read = in.read(buffer, n, buffer.length - n);
      if (read < 0) {
        return false;
      }
      n += read;
    }
    return true;
  }

  /** One self-signed P-256 certificate, presented and trusted by both ends, TLS 1.3 as the mesh speaks it. */
  private static SSLContext mutualContext() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair keys = generator.generateKeyPair();
    X500Name name = new X500Name("CN=tls-echo");
    Instant now = Instant.now();
    X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name,
        BigInteger.ONE, Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.HOURS)), name,
        keys.getPublic()).build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    char[] password = "tls-echo".toCharArray();
    store.setKeyEntry("echo", keys.getPrivate(), password, new X509Certificate[] {certificate});
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(store, password);
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(store);
    SSLContext context = SSLContext.getInstance("TLSv1.3");
    context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
    return context;
  }
}
