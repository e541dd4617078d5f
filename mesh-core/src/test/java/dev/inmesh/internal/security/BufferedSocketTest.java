package dev.inmesh.internal.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class BufferedSocketTest {
  @Test
  void aServerSocketAcceptsBufferedSocketsWhoseStreamIsAlwaysTheSame() throws Exception {
    try (ServerSocket server = listening();
         Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
         Socket accepted = server.accept()) {
      assertThat(accepted).isInstanceOf(BufferedSocket.class);
      assertThat(accepted.getInputStream()).isSameAs(accepted.getInputStream());
      assertThat(client.isConnected()).isTrue();
    }
  }

  @Test
  void oneSmallReadBringsInWhatHasArrived() throws Exception {
    try (ServerSocket server = listening();
         Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
         Socket accepted = server.accept()) {
      client.getOutputStream().write("hello world".getBytes(StandardCharsets.US_ASCII));
      InputStream in = accepted.getInputStream();
      accepted.setSoTimeout(5000);
      assertThat(in.read()).isEqualTo('h');
      // the socket itself now reads nothing more (the JDK answers end of stream at once), so the
      // rest can only come from what the first read brought in
      accepted.shutdownInput();
      assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("ello world");
    }
  }

  @Test
  void aClosedSocketHasNoStream() throws Exception {
    BufferedSocket socket = new BufferedSocket();
    socket.close();
    assertThatThrownBy(socket::getInputStream).isInstanceOf(SocketException.class);
    ServerSocket server = BufferedSocket.serverSocket();
    assertThatThrownBy(server::accept).isInstanceOf(SocketException.class).hasMessageContaining("not bound");
    server.close();
    assertThatThrownBy(server::accept).isInstanceOf(SocketException.class).hasMessageContaining("closed");
  }

  /**
   * As the door uses it: the first byte read to tell TLS from plaintext, then TLS over the rest; and
   * as the mTLS client uses it: TLS over a buffered socket. Records smaller and larger than the
   * buffer arrive whole and in order.
   */
  @Test
  void tlsOverBufferedSocketsCarriesRecordsOfEverySize() throws Exception {
    SSLContext context = selfSignedContext();
    byte[][] messages = {"ping".getBytes(StandardCharsets.US_ASCII), random(40_000), random(BufferedSocket.BUFFER),
        new byte[] {42}};
    try (ServerSocket server = listening()) {
      CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
        try (Socket raw = server.accept()) {
          raw.setSoTimeout(10_000);
          int first = raw.getInputStream().read();
          assertThat(first).isEqualTo(0x16); // a TLS handshake record
          SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw,
              new ByteArrayInputStream(new byte[] {(byte) first}), true);
          DataInputStream in = new DataInputStream(tls.getInputStream());
          DataOutputStream out = new DataOutputStream(tls.getOutputStream());
          for (int i = 0; i < messages.length; i++) {
            byte[] message = new byte[in.readInt()];
            in.readFully(message);
            out.writeInt(message.length);
            out.write(message);
            out.flush();
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      BufferedSocket plain = new BufferedSocket();
      plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 5000);
      plain.setSoTimeout(10_000);
      try (SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, "localhost",
          server.getLocalPort(), true)) {
        DataOutputStream out = new DataOutputStream(tls.getOutputStream());
        DataInputStream in = new DataInputStream(tls.getInputStream());
        for (byte[] message : messages) {
          out.writeInt(message.length);
          out.write(message);
          out.flush();
          byte[] answer = new byte[in.readInt()];
          in.readFully(answer);
          assertThat(answer).isEqualTo(message);
        }
      }
      echo.get(10, TimeUnit.SECONDS);
    }
  }

  private static ServerSocket listening() throws Exception {
    ServerSocket server = BufferedSocket.serverSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return server;
  }

  private static byte[] random(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }

  /** One P-256 key and its self-signed certificate, presented by the server and trusted by the client. */
  private static SSLContext selfSignedContext() throws Exception {
    TestCa ca = new TestCa(Instant.now());
    char[] password = "test".toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("server", ca.rootKeys.getPrivate(), password, new Certificate[] {ca.root});
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, password);
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("root", ca.root);
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trusted);
    SSLContext context = SSLContext.getInstance("TLSv1.3");
    context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
    return context;
  }
}
