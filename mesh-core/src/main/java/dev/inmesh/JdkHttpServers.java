package dev.inmesh;

/**
 * Tuning for the JDK's built-in HTTP server ({@code com.sun.net.httpserver}), which Inmesh's
 * servers use: it writes a response's headers and body apart and, by default, with Nagle's
 * algorithm on, so against the client's delayed ACK every answer on a kept-alive connection waits
 * about 40 ms. Its own switch, {@code sun.net.httpserver.nodelay}, turns TCP_NODELAY on; it is
 * read once per JVM, when the JDK's server first loads, so every Inmesh class that creates one
 * calls {@link #noDelay()} first. An application that set the property keeps its choice.
 */
public final class JdkHttpServers {
  private static final String NO_DELAY = "sun.net.httpserver.nodelay";

  private JdkHttpServers() {}

  public static void noDelay() {
    if (System.getProperty(NO_DELAY) == null) {
      System.setProperty(NO_DELAY, "true");
    }
  }
}
