package dev.inmesh.commons.internal;

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
  private static final String MAX_REQUEST_TIME = "sun.net.httpserver.maxReqTime";
  /** Seconds a client has to send a whole request, head and body, once it has started one. */
  private static final String REQUEST_SECONDS = "20";

  private JdkHttpServers() {}

  public static void noDelay() {
    if (System.getProperty(NO_DELAY) == null) {
      System.setProperty(NO_DELAY, "true");
    }
  }

  /**
   * For a server of Inmesh's own (mesh-control's API, the CA's HTTPS port), which reads a request on
   * one of a few pool threads: a client that starts a request and then sends nothing would hold a
   * thread for good, and a handful would lock every caller out. The JDK's switch,
   * {@code sun.net.httpserver.maxReqTime}, closes a connection whose request takes longer than
   * 20 s; like the one above it is read once per JVM, and a value already set is kept.
   */
  public static void boundedRequests() {
    noDelay();
    if (System.getProperty(MAX_REQUEST_TIME) == null) {
      System.setProperty(MAX_REQUEST_TIME, REQUEST_SECONDS);
    }
  }
}
