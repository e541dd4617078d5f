package dev.inmesh.internal.model;

import dev.inmesh.Locality;
import java.util.List;
import java.util.Objects;

/**
 * One instance of a cluster: where to connect, where it runs, its load-balancing weight, and
 * whether it speaks mesh mutual TLS (Istio's {@code tlsMode: istio} endpoint mark), which decides
 * its transport where a cluster's TLS is per endpoint. Its EDS placement comes with it: the
 * priority of its locality group (0 is tried first) and that group's weight (0 when EDS gave none).
 *
 * <p>Equality leaves the placement out: it is the same instance, with the same ejection state and
 * requests in flight, when a new endpoint joins its locality (which changes the locality's weight)
 * or a policy moves it to another priority. {@link #samePlacement} tells such moves apart.
 */
public record Endpoint(String address, int port, Locality locality, int weight, boolean meshTls, int priority,
    int localityWeight) {
  /** An endpoint without the mesh mTLS mark. */
  public Endpoint(String address, int port, Locality locality, int weight) {
    this(address, port, locality, weight, false);
  }

  /** An endpoint at priority 0 whose locality has no weight of its own. */
  public Endpoint(String address, int port, Locality locality, int weight, boolean meshTls) {
    this(address, port, locality, weight, meshTls, 0, 0);
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
    if (priority < 0) {
      throw new IllegalArgumentException("priority must not be negative, got " + priority);
    }
    if (localityWeight < 0) {
      throw new IllegalArgumentException("localityWeight must not be negative, got " + localityWeight);
    }
  }

  public static Endpoint of(String address, int port) {
    return new Endpoint(address, port, Locality.UNKNOWN, 1);
  }

  /** This endpoint at another EDS priority and locality weight. */
  public Endpoint placed(int priority, int localityWeight) {
    return new Endpoint(address, port, locality, weight, meshTls, priority, localityWeight);
  }

  /** Whether two lists hold the same endpoints in the same order at the same placements. */
  public static boolean samePlacement(List<Endpoint> a, List<Endpoint> b) {
    if (!a.equals(b)) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i).priority != b.get(i).priority || a.get(i).localityWeight != b.get(i).localityWeight) {
        return false;
      }
    }
    return true;
  }

  /** {@code address:port}, with IPv6 addresses in brackets. */
  public String hostPort() {
    return (address.contains(":") ? "[" + address + "]" : address) + ":" + port;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Endpoint that && port == that.port && weight == that.weight && meshTls == that.meshTls
        && address.equals(that.address) && locality.equals(that.locality);
  }

  @Override
  public int hashCode() {
    // Objects.hash(address, port, locality, weight, meshTls) without its array and boxes: every
    // call looks its endpoint up in several maps (requests in flight, outliers, load stats)
    int hash = 31 + address.hashCode();
    hash = 31 * hash + port;
    hash = 31 * hash + locality.hashCode();
    hash = 31 * hash + weight;
    return 31 * hash + Boolean.hashCode(meshTls);
  }

  @Override
  public String toString() {
    return hostPort();
  }
}
