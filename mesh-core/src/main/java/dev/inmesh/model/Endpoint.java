package dev.inmesh.model;

import java.util.Objects;

/**
 * One instance of a cluster: where to connect, where it runs, its load-balancing weight, and
 * whether it speaks mesh mutual TLS (Istio's {@code tlsMode: istio} endpoint mark), which decides
 * its transport where a cluster's TLS is per endpoint.
 */
public record Endpoint(String address, int port, Locality locality, int weight, boolean meshTls) {
  /** An endpoint without the mesh mTLS mark. */
  public Endpoint(String address, int port, Locality locality, int weight) {
    this(address, port, locality, weight, false);
  }

  public Endpoint {
    Objects.requireNonNull(address, "address");
    locality = Objects.requireNonNullElse(locality, Locality.UNKNOWN);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port must be between 1 and 65535, got " + port);
    }
    if (weight < 1) {
      throw new IllegalArgumentException("weight must be at least 1, got " + weight);
    }
  }

  public static Endpoint of(String address, int port) {
    return new Endpoint(address, port, Locality.UNKNOWN, 1);
  }

  /** {@code address:port}, with IPv6 addresses in brackets. */
  public String hostPort() {
    return (address.contains(":") ? "[" + address + "]" : address) + ":" + port;
  }

  @Override
  public String toString() {
    return hostPort();
  }
}
