package dev.inmesh.ca;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.inmesh.ca.internal.CaGrpcService;
import dev.inmesh.ca.internal.CaHttpsHandlers;
import dev.inmesh.ca.internal.PeerCertificateTrustManager;
import dev.inmesh.ca.internal.ServingKeyManager;
import dev.inmesh.identity.SpiffeId;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a {@link CertificateAuthority}: gRPC {@code CreateCertificate} and the same call as JSON
 * over HTTPS at {@code POST /v1/certificate}, both over TLS with an optional client certificate
 * (for renewal). The servers' own TLS certificate is issued by the CA and renewed at half-life.
 */
public final class CaServer implements AutoCloseable {
  static {
    dev.inmesh.commons.internal.JdkHttpServers.boundedRequests();
    dev.inmesh.commons.internal.NettyJfr.off();
  }

  private static final Logger log = LoggerFactory.getLogger(CaServer.class);

  private final Server grpc;
  private final HttpsServer https;
  private final ExecutorService httpsExecutor;

  private CaServer(Server grpc, HttpsServer https, ExecutorService httpsExecutor) {
    this.grpc = grpc;
    this.https = https;
    this.httpsExecutor = httpsExecutor;
  }

  public static CaServer start(CertificateAuthority ca, CaServerOptions options) throws IOException {
    ServingKeyManager keyManager = servingKeyManager(ca, options.serverNames());
    PeerCertificateTrustManager trustManager = new PeerCertificateTrustManager(ca::trustBundle);
    InetAddress bind = InetAddress.getByName(options.bindAddress());

    SslContext grpcTls = GrpcSslContexts.configure(SslContextBuilder.forServer(keyManager), SslProvider.JDK)
        .trustManager(trustManager)
        .clientAuth(ClientAuth.OPTIONAL)
        .build();
    Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress(bind, options.grpcPort()))
        .sslContext(grpcTls)
        .addService(CaGrpcService.definition(ca))
        .build()
        .start();

    HttpsServer https;
    ExecutorService executor;
    try {
      https = HttpsServer.create(new InetSocketAddress(bind, options.httpsPort()), 0);
      https.setHttpsConfigurator(new WantClientCertificate(
          sslContext(keyManager, trustManager)));
      https.createContext("/v1/certificate", CaHttpsHandlers.certificate(ca));
      https.createContext("/v1/join-tokens", CaHttpsHandlers.joinTokens(ca, options.adminToken()));
      AtomicInteger threads = new AtomicInteger();
      executor = Executors.newFixedThreadPool(4, task -> {
        Thread thread = new Thread(task, "inmesh-ca-https-" + threads.incrementAndGet());
        thread.setDaemon(true);
        return thread;
      });
      https.setExecutor(executor);
      https.start();
    } catch (IOException | RuntimeException e) {
      grpc.shutdownNow();
      throw e;
    }
    CaServer server = new CaServer(grpc, https, executor);
    log.info("mesh-ca-server for trust domain {}: gRPC on {}:{}, HTTPS on {}:{}", ca.config().trustDomain(),
        options.bindAddress(), server.grpcPort(), options.bindAddress(), server.httpsPort());
    return server;
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  public int httpsPort() {
    return https.getAddress().getPort();
  }

  @Override
  public void close() {
    grpc.shutdown();
    https.stop(0);
    httpsExecutor.shutdownNow();
    try {
      if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
        grpc.shutdownNow();
      }
    } catch (InterruptedException e) {
      grpc.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A server-side TLS context whose certificate {@code ca} issues for {@code serverNames} (DNS
   * names or IP literals) besides localhost and the loopback addresses, renewed at half-life. It
   * asks for no client certificate: for servers that authenticate their callers otherwise, such as
   * mesh-control's operator API with bearer tokens.
   */
  public static SSLContext servingTls(CertificateAuthority ca, List<String> serverNames) {
    return sslContext(servingKeyManager(ca, serverNames), null);
  }

  /**
   * A key manager that serves a certificate {@code ca} issues for {@code serverNames} (DNS names
   * or IP literals) besides localhost and the loopback addresses, and the server's own SPIFFE
   * {@code identity} when given, renewed at half-life: for other servers of the control plane, such
   * as mesh-control's xDS port.
   */
  public static javax.net.ssl.X509ExtendedKeyManager servingKeys(CertificateAuthority ca, List<String> serverNames,
      java.util.Optional<SpiffeId> identity) {
    return servingKeyManager(ca, serverNames, identity);
  }

  private static ServingKeyManager servingKeyManager(CertificateAuthority ca, List<String> serverNames) {
    return servingKeyManager(ca, serverNames, java.util.Optional.empty());
  }

  private static ServingKeyManager servingKeyManager(CertificateAuthority ca, List<String> serverNames,
      java.util.Optional<SpiffeId> identity) {
    List<String> dnsNames = new ArrayList<>(List.of("localhost"));
    List<String> ips = new ArrayList<>(List.of("127.0.0.1", "::1"));
    for (String name : serverNames) {
      List<String> names = isIpLiteral(name) ? ips : dnsNames;
      if (!names.contains(name)) {
        names.add(name);
      }
    }
    return new ServingKeyManager(() -> ca.issueServingCertificate(dnsNames, ips, identity), Clock.systemUTC());
  }

  private static SSLContext sslContext(KeyManager keyManager, TrustManager trustManager) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {keyManager}, trustManager == null ? null : new TrustManager[] {trustManager},
          new SecureRandom());
      return context;
    } catch (GeneralSecurityException e) {
      throw new UncheckedIOException(new IOException("cannot set up TLS for the HTTPS server", e));
    }
  }

  private static boolean isIpLiteral(String name) {
    return name.contains(":") || name.matches("[0-9.]+");
  }

  private static final class WantClientCertificate extends HttpsConfigurator {
    WantClientCertificate(SSLContext context) {
      super(context);
    }

    @Override
    public void configure(HttpsParameters parameters) {
      SSLParameters ssl = getSSLContext().getDefaultSSLParameters();
      // asked for, not required: bootstrapping workloads have only a join token
      ssl.setWantClientAuth(true);
      parameters.setSSLParameters(ssl);
    }
  }
}
