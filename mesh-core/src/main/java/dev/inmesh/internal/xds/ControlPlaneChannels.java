package dev.inmesh.internal.xds;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Channels to mesh-control's xDS port: mutual TLS with the workload's certificate, the server
 * checked by its name against the mesh roots; or plaintext, for a mesh-control without a CA or
 * its read-only port.
 */
public final class ControlPlaneChannels {
  private ControlPlaneChannels() {}

  /** Mutual TLS to {@code target} ({@code host:port}), presenting {@code keys}, trusting {@code roots} for the server's name. */
  public static ManagedChannel mutualTls(String target, X509ExtendedKeyManager keys, X509ExtendedTrustManager roots) {
    try {
      return NettyChannelBuilder.forTarget(target)
          .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
              .keyManager(keys)
              .trustManager(roots)
              .build())
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS to " + target, e);
    }
  }

  /** Plaintext to {@code target}. */
  public static ManagedChannel plaintext(String target) {
    return NettyChannelBuilder.forTarget(target).usePlaintext().build();
  }
}
