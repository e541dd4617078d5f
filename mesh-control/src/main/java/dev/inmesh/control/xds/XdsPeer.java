package dev.inmesh.control.xds;

import dev.inmesh.identity.SpiffeId;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who is on the other end of an xDS stream, as the connection proves it: the SPIFFE ID of a client
 * certificate that the handshake verified against the mesh roots, the address the connection
 * comes from, and which port it came in on. Node metadata is a claim; this is the evidence.
 *
 * @param port {@link Port#MUTUAL_TLS} (the xDS port with the embedded CA), {@link Port#READ_ONLY}
 *     (the opt-in plaintext port) or {@link Port#INSECURE} (the xDS port of a mesh-control without
 *     a CA, which can verify no one)
 */
public record XdsPeer(Optional<SpiffeId> identity, Optional<InetAddress> address, Port port) {
  /** The kinds of xDS port a stream arrives on. */
  public enum Port { MUTUAL_TLS, READ_ONLY, INSECURE }

  static final Context.Key<XdsPeer> KEY = Context.key("inmesh-xds-peer");

  /**
   * The peer of the call running now. Where none was recorded, a peer of the mutual TLS port that
   * proved nothing, so that a lookup that went wrong is refused rather than let in.
   */
  static XdsPeer current() {
    XdsPeer peer = KEY.get();
    return peer == null ? new XdsPeer(Optional.empty(), Optional.empty(), Port.MUTUAL_TLS) : peer;
  }

  /**
   * Records each call's peer in its context, for the discovery callbacks to read. Under TLS the
   * chain is verified again with {@code trust} for every call: a resumed TLS session skips the
   * handshake's check, and the certificate may have expired or its root been retired since.
   */
  static ServerInterceptor recorder(Port port, Optional<dev.inmesh.internal.security.SpiffeTrustManager> trust) {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        XdsPeer peer = new XdsPeer(identity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION), trust),
            address(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), port);
        return Contexts.interceptCall(Context.current().withValue(KEY, peer), call, headers, next);
      }
    };
  }

  private static Optional<SpiffeId> identity(SSLSession session, Optional<dev.inmesh.internal.security.SpiffeTrustManager> trust) {
    if (session == null || trust.isEmpty()) {
      return Optional.empty();
    }
    try {
      Certificate[] peer = session.getPeerCertificates();
      X509Certificate[] chain = new X509Certificate[peer.length];
      for (int i = 0; i < peer.length; i++) {
        if (!(peer[i] instanceof X509Certificate certificate)) {
          return Optional.empty();
        }
        chain[i] = certificate;
      }
      return Optional.of(trust.get().verify(chain));
    } catch (SSLPeerUnverifiedException | java.security.cert.CertificateException e) {
      return Optional.empty();
    }
  }

  private static Optional<InetAddress> address(java.net.SocketAddress remote) {
    return remote instanceof InetSocketAddress inet ? Optional.ofNullable(inet.getAddress()) : Optional.empty();
  }
}
