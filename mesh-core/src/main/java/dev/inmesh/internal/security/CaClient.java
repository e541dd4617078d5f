package dev.inmesh.internal.security;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Asks mesh-ca-server (or anything that speaks Istio's {@code IstioCertificateService}) to sign a
 * CSR. The first certificate is paid for with a join token in {@code authorization: Bearer}; after
 * that the client presents its current certificate over mTLS, which is how renewal proves the
 * identity. The two small messages are encoded by hand so that mesh-core needs no generated code.
 */
public final class CaClient implements CertificateSigner, AutoCloseable {
  private static final MethodDescriptor<Request, List<String>> CREATE_CERTIFICATE =
      MethodDescriptor.<Request, List<String>>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("istio.v1.auth.IstioCertificateService/CreateCertificate")
          .setRequestMarshaller(new RequestMarshaller())
          .setResponseMarshaller(new ResponseMarshaller())
          .build();
  private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final List<String> targets;
  private volatile int preferred; // the target that answered last
  private final TrustManager trust;
  private final Supplier<Optional<String>> joinToken;
  private final Supplier<Optional<Credentials>> current;

  private record Request(String csr, long validitySeconds) {}

  /** A connection opened ahead of the next request, to the target it will try first; used once. */
  private record Prepared(String target, ManagedChannel channel) {}

  private final AtomicReference<Prepared> prepared = new AtomicReference<>();

  /**
   * @param targets the gRPC addresses ({@code host:port}) of the CA, or of every mesh-control
   *     replica's CA, in order of preference: a request that cannot reach one goes to the next
   * @param roots the CA roots to trust for the CA's own TLS certificate (Istio's root-cert.pem)
   * @param joinToken the bootstrap token, used while there is no certificate yet
   * @param current this workload's certificate, presented for renewal
   */
  public CaClient(List<String> targets, List<X509Certificate> roots, Supplier<Optional<String>> joinToken,
      Supplier<Optional<Credentials>> current) {
    this(targets, () -> roots, joinToken, current);
  }

  /**
   * As above, trusting for the CA's own certificate the roots {@code roots} gives at each
   * connection: the mesh's trust bundle as it follows a root rotation. A CA that restarted after
   * the rotation presents a certificate of the new root, which the root a workload was given at
   * its start no longer signs.
   */
  public CaClient(List<String> targets, Supplier<List<X509Certificate>> roots, Supplier<Optional<String>> joinToken,
      Supplier<Optional<Credentials>> current) {
    this.joinToken = joinToken;
    this.current = current;
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("at least one CA address is needed");
    }
    this.targets = List.copyOf(targets);
    this.trust = new RootsTrustManager(roots);
  }

  /**
   * A channel with TLS of its own: a renewal must handshake with the certificate it renews, and a
   * TLS context shared between connections would resume the session of an earlier one instead (the
   * first had no certificate at all). The TLS is the JDK's, not the BoringSSL that
   * grpc-netty-shaded picks by default: loading that native library costs a new JVM about 0.4 s of
   * CPU at the start of every workload, for a connection made twice a day. The mesh's mTLS is the
   * JDK's too.
   */
  private ManagedChannel channel(String target) {
    SslContext tls;
    try {
      tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
          .trustManager(trust)
          .keyManager(new CurrentKeyManager())
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS to the CA", e);
    }
    return NettyChannelBuilder.forTarget(target).sslContext(tls).build();
  }

  /** Reads PEM certificates, as the CA's root-cert.pem holds them. */
  public static List<X509Certificate> readPem(String pem) {
    try {
      List<X509Certificate> certificates = new ArrayList<>();
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (var certificate : factory.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        certificates.add((X509Certificate) certificate);
      }
      return certificates;
    } catch (CertificateException e) {
      throw new IllegalArgumentException("not PEM certificates: " + e.getMessage(), e);
    }
  }

  @Override
  public List<X509Certificate> sign(String csrPem, Duration ttl) throws IOException {
    Metadata headers = new Metadata();
    if (current.get().isEmpty()) {
      String token = joinToken.get().orElseThrow(() -> new IOException(
          "no certificate yet and no join token: create one with the CA's admin API and pass it to the Mesh builder"));
      headers.put(AUTHORIZATION, "Bearer " + token);
    }
    IOException unreachable = null;
    int first = preferred;
    for (int i = 0; i < targets.size(); i++) {
      int index = (first + i) % targets.size();
      try {
        List<X509Certificate> chain = sign(targets.get(index), headers, new Request(csrPem, ttl.toSeconds()));
        preferred = index;
        return chain;
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE
            && e.getStatus().getCode() != io.grpc.Status.Code.DEADLINE_EXCEEDED) {
          throw new IOException("the CA refused: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription(), e);
        }
        // another replica's CA signs under the same root: try it
        IOException failure = new IOException("the CA at " + targets.get(index) + " is unreachable: "
            + e.getStatus().getCode() + ": " + e.getStatus().getDescription(), e);
        if (unreachable == null) {
          unreachable = failure;
        } else {
          unreachable.addSuppressed(failure);
        }
      }
    }
    throw unreachable;
  }

  /**
   * Opens the connection the next request will use (TCP and the TLS handshake, on gRPC's threads)
   * so that it is made while the caller generates its key and CSR: at start-up both take a cold
   * JVM a while. It presents the certificate current now, none before the first.
   */
  @Override
  public void prepare() {
    String target = targets.get(preferred);
    ManagedChannel channel = channel(target);
    channel.getState(true);
    Prepared previous = prepared.getAndSet(new Prepared(target, channel));
    if (previous != null) {
      previous.channel().shutdownNow();
    }
  }

  private List<X509Certificate> sign(String target, Metadata headers, Request request) {
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
    // a connection per request: a renewal must handshake with the certificate it renews, and a
    // connection opened before the first certificate presented none. Requests come twice a day.
    Prepared ahead = prepared.getAndSet(null);
    if (ahead != null && !ahead.target().equals(target)) {
      ahead.channel().shutdownNow();
      ahead = null;
    }
    ManagedChannel channel = ahead != null ? ahead.channel() : channel(target);
    try {
      List<String> chain = ClientCalls.blockingUnaryCall(
          io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers)),
          CREATE_CERTIFICATE, options, request);
      List<X509Certificate> certificates = new ArrayList<>();
      for (String pem : chain) {
        certificates.addAll(readPem(pem));
      }
      return certificates;
    } finally {
      channel.shutdownNow();
    }
  }

  /** Presents the workload's current certificate, once it has one; none before. */
  private final class CurrentKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "workload";

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return current.get().isPresent() ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return current.get().isPresent() ? ALIAS : null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return current.get().isPresent() ? ALIAS : null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return current.get().map(c -> c.chain().toArray(X509Certificate[]::new)).orElse(null);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return current.get().map(Credentials::key).orElse(null);
    }
  }

  private static final class RequestMarshaller implements MethodDescriptor.Marshaller<Request> {
    @Override
    public InputStream stream(Request request) {
      try {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeString(1, request.csr());
        if (request.validitySeconds() != 0) {
          out.writeInt64(3, request.validitySeconds());
        }
        out.flush();
        return new ByteArrayInputStream(bytes.toByteArray());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public Request parse(InputStream stream) {
      throw new UnsupportedOperationException("the client only sends requests");
    }
  }

  private static final class ResponseMarshaller implements MethodDescriptor.Marshaller<List<String>> {
    @Override
    public InputStream stream(List<String> value) {
      throw new UnsupportedOperationException("the client only reads responses");
    }

    @Override
    public List<String> parse(InputStream stream) {
      try {
        CodedInputStream in = CodedInputStream.newInstance(stream);
        List<String> chain = new ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
          if (tag == ((1 << 3) | 2)) {
            chain.add(in.readString());
          } else if (!in.skipField(tag)) {
            break;
          }
        }
        return chain;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the CA's response", e);
      }
    }
  }

  @Override
  public void close() {
    // nothing stays open between requests but a connection prepared and not used
    Prepared ahead = prepared.getAndSet(null);
    if (ahead != null) {
      ahead.channel().shutdownNow();
    }
  }
}
