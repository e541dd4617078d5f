package dev.inmesh.control.translate;

/** Istio's resource names, so that tools and habits carry over. */
public final class ClusterNames {
  private ClusterNames() {}

  /** {@code outbound|<port>|<subset>|<fqdn>}; the subset is empty for the whole service. */
  public static String outbound(int port, String subset, String hostname) {
    return "outbound|" + port + "|" + subset + "|" + hostname;
  }

  /** Listener and route configuration names: {@code <host>:<port>}. */
  public static String hostPort(String host, int port) {
    return host + ":" + port;
  }
}
