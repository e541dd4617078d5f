package dev.inmesh.internal.security;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;

/**
 * A plain socket whose input is read through a buffer, for a TLS layer on top of it. The JDK's TLS
 * reads each record from the socket under it in two reads, its 5-byte header and then its body, and
 * on a plain socket each read is a system call. Through the buffer, the header's read usually
 * brings the whole record, and the body's costs no call: one system call less per record received,
 * which on a pooled mTLS connection is one per response at the client and one per request at the
 * door. The buffer holds the largest record there is, so that a bulk transfer's full records are
 * read whole too.
 *
 * <p>{@link #getInputStream()} returns the same buffered stream every time, so that bytes it has
 * read ahead reach whoever reads next: the TLS layer, or a relay that found the peer speaks
 * plaintext after all.
 */
public final class BufferedSocket extends Socket {
  /** The largest TLS record, header included: 2^14 bytes of data and up to 2,048 of protection (TLS 1.2's bound). */
  public static final int BUFFER = 5 + (1 << 14) + 2048;

  private final Object lock = new Object();
  private InputStream input;

  /** An unconnected socket, as {@code new Socket()}. */
  public BufferedSocket() {}

  @Override
  public InputStream getInputStream() throws IOException {
    // the socket's own checks first: closed, not connected, input shut down
    InputStream socketInput = super.getInputStream();
    synchronized (lock) {
      if (input == null) {
        input = new BufferedInputStream(socketInput, BUFFER);
      }
      return input;
    }
  }

  /** An unbound server socket whose {@link ServerSocket#accept()} returns {@link BufferedSocket}s. */
  public static ServerSocket serverSocket() throws IOException {
    return new ServerSocket() {
      @Override
      public Socket accept() throws IOException {
        if (isClosed()) {
          throw new SocketException("Socket is closed");
        }
        if (!isBound()) {
          throw new SocketException("Socket is not bound yet");
        }
        Socket socket = new BufferedSocket();
        implAccept(socket);
        return socket;
      }
    };
  }
}
