package dev.inmesh.commons.internal;

/**
 * Start-up tuning for the Netty inside grpc-netty-shaded, which carries Inmesh's control-plane
 * channels (xDS, load reports, the CA) and its servers. Netty 4.2 registers its buffer allocator's
 * JFR events with the JVM's Flight Recorder the first time it allocates, whether or not a recording
 * asks for them (they are off unless a JFR profile turns them on). In a new JVM that registration
 * loads about 130 classes and generates the events' handlers: about 0.15 s of an app's start on
 * two cores, before its first call. Netty's own switch turns the events off; it is read once, when
 * Netty first loads, so every Inmesh class that starts Netty calls {@link #off()} first. An
 * application that set the property keeps its choice; to record the events, set
 * {@code -Dio.grpc.netty.shaded.io.netty.jfr.enabled=true}.
 */
public final class NettyJfr {
  /** grpc-netty-shaded's name for Netty's {@code io.netty.jfr.enabled}. */
  public static final String ENABLED = "io.grpc.netty.shaded.io.netty.jfr.enabled";

  private NettyJfr() {}

  public static void off() {
    if (System.getProperty(ENABLED) == null) {
      System.setProperty(ENABLED, "false");
    }
  }
}
