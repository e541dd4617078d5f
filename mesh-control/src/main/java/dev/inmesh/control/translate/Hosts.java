package dev.inmesh.control.translate;

/** Istio's host name resolution for VirtualService and DestinationRule hosts. */
final class Hosts {
  private Hosts() {}

  /** A short name (no dot) is a service in the resource's own namespace; anything else is as written. */
  static String resolve(String host, String namespace) {
    if (host.equals("*") || host.contains(".")) {
      return host;
    }
    return host + "." + namespace + MeshService.DOMAIN_SUFFIX;
  }

  /** {@code *.example.com} matches {@code a.example.com} and {@code a.b.example.com}; {@code *} matches all. */
  static boolean wildcardMatches(String pattern, String hostname) {
    if (pattern.equals("*")) {
      return true;
    }
    return pattern.startsWith("*.") && hostname.endsWith(pattern.substring(1));
  }
}
