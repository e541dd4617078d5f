package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * A consistent hash ring, much as Envoy's ring hash: every endpoint owns entries at {@link
 * #hash(CharSequence) hash}{@code ("address:port#i")}, as many as its share of the total weight of
 * a ring of at least {@code minimumRingSize} entries. A request's hash selects the first entry at
 * or after it (as unsigned 64-bit numbers, wrapping around); removing one of {@code n} endpoints
 * thus moves only about {@code 1/n} of the keys.
 *
 * <p>From that entry the pick walks on along the ring past endpoints it may not choose (ejected
 * ones, and for a retry the ones already tried), so a key whose endpoint is ejected goes to the
 * same neighbour from every client, and comes back when it recovers. Without a hash the pick
 * starts at a random point, which is weighted random.
 */
public final class RingHashLoadBalancer implements LoadBalancer {
  /** Envoy's default {@code maximum_ring_size}, and the largest {@code minimumRingSize} we accept. */
  static final long MAX_RING_SIZE = 8_388_608;

  private static final long FNV_OFFSET_BASIS = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  private final EndpointSet endpoints;
  private final RandomGenerator random;
  private final long[] positions;
  private final int[] owners;

  private RingHashLoadBalancer(EndpointSet endpoints, long minimumRingSize, RandomGenerator random) {
    if (minimumRingSize < 1 || minimumRingSize > MAX_RING_SIZE) {
      throw new IllegalArgumentException(
          "minimumRingSize must be between 1 and " + MAX_RING_SIZE + ", got " + minimumRingSize);
    }
    this.endpoints = endpoints;
    this.random = Objects.requireNonNull(random, "random");
    Entry[] ring = build(endpoints, minimumRingSize);
    this.positions = new long[ring.length];
    this.owners = new int[ring.length];
    for (int i = 0; i < ring.length; i++) {
      positions[i] = ring[i].position;
      owners[i] = ring[i].owner;
    }
  }

  /** {@code random} (used only for requests without a hash) must be safe to share between threads if the balancer is. */
  public static RingHashLoadBalancer of(
      List<Endpoint> endpoints, EndpointState state, long minimumRingSize, RandomGenerator random) {
    return new RingHashLoadBalancer(new EndpointSet(endpoints, state), minimumRingSize, random);
  }

  /**
   * The ring's 64-bit hash: FNV-1a over the UTF-8 bytes, then MurmurHash3's 64-bit finalizer,
   * because FNV-1a alone leaves keys that differ only in their last characters (as {@code #1},
   * {@code #2}, … do) close together on the ring. Hash policies may use it for request keys.
   */
  public static long hash(CharSequence key) {
    long hash = FNV_OFFSET_BASIS;
    for (int i = 0; i < key.length(); i++) {
      int c = key.charAt(i);
      if (Character.isHighSurrogate((char) c) && i + 1 < key.length()
          && Character.isLowSurrogate(key.charAt(i + 1))) {
        c = Character.toCodePoint((char) c, key.charAt(++i));
      }
      if (c < 0x80) {
        hash = (hash ^ c) * FNV_PRIME;
      } else if (c < 0x800) {
        hash = (hash ^ (0xc0 | (c >>> 6))) * FNV_PRIME;
        hash = (hash ^ (0x80 | (c & 0x3f))) * FNV_PRIME;
      } else if (c < 0x10000) {
        hash = (hash ^ (0xe0 | (c >>> 12))) * FNV_PRIME;
        hash = (hash ^ (0x80 | ((c >>> 6) & 0x3f))) * FNV_PRIME;
        hash = (hash ^ (0x80 | (c & 0x3f))) * FNV_PRIME;
      } else {
        hash = (hash ^ (0xf0 | (c >>> 18))) * FNV_PRIME;
        hash = (hash ^ (0x80 | ((c >>> 12) & 0x3f))) * FNV_PRIME;
        hash = (hash ^ (0x80 | ((c >>> 6) & 0x3f))) * FNV_PRIME;
        hash = (hash ^ (0x80 | (c & 0x3f))) * FNV_PRIME;
      }
    }
    hash ^= hash >>> 33;
    hash *= 0xff51afd7ed558ccdL;
    hash ^= hash >>> 33;
    hash *= 0xc4ceb9fe1a85ec53L;
    hash ^= hash >>> 33;
    return hash;
  }

  /** How many entries the ring holds. */
  public int ringSize() {
    return positions.length;
  }

  @Override
  public Optional<Endpoint> pick(PickRequest request) {
    if (endpoints.isEmpty()) {
      return Optional.empty();
    }
    long hash = request.hash().isPresent() ? request.hash().getAsLong() : random.nextLong();
    int start = firstAtOrAfter(hash);
    int filter = endpoints.filter(request.tried());
    for (int step = 0; step < positions.length; step++) {
      int owner = owners[(start + step) % positions.length];
      if (endpoints.admits(filter, owner, request.tried())) {
        return endpoints.choice(owner);
      }
    }
    // Health changed during the walk; the key's own endpoint beats none.
    return endpoints.choice(owners[start]);
  }

  private int firstAtOrAfter(long hash) {
    int low = 0;
    int high = positions.length;
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (Long.compareUnsigned(positions[middle], hash) < 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low == positions.length ? 0 : low;
  }

  /**
   * Gives every endpoint {@code ceil(weight * k)} entries, where {@code k} is the smallest power of
   * two that makes the ring at least {@code minimumRingSize} long and gives the lightest endpoint a
   * whole entry. Envoy scales by the exact ratio instead, so there every endpoint's count changes
   * whenever one endpoint leaves, moving keys between the endpoints that stayed; with a power of
   * two {@code k} mostly stays the same, and then only the leaving endpoint's keys move. The ring
   * is thus up to twice the minimum, and never more than {@link #MAX_RING_SIZE} plus one entry per
   * endpoint.
   */
  private static Entry[] build(EndpointSet endpoints, long minimumRingSize) {
    if (endpoints.isEmpty()) {
      return new Entry[0];
    }
    double totalWeight = 0;
    double lightest = Double.MAX_VALUE;
    for (Endpoint endpoint : endpoints.endpoints()) {
      totalWeight += endpoint.weight();
      lightest = Math.min(lightest, endpoint.weight());
    }
    int exponent = 0;
    while (Math.scalb(totalWeight, exponent - 1) >= minimumRingSize && Math.scalb(lightest, exponent - 1) >= 1) {
      exponent--;
    }
    while (Math.scalb(totalWeight, exponent) < minimumRingSize || Math.scalb(lightest, exponent) < 1) {
      exponent++;
    }
    while (Math.scalb(totalWeight, exponent) > MAX_RING_SIZE) {
      exponent--;
    }
    List<Entry> ring = new ArrayList<>();
    for (int owner = 0; owner < endpoints.size(); owner++) {
      long entries = Math.max(1, (long) Math.ceil(Math.scalb((double) endpoints.get(owner).weight(), exponent)));
      String prefix = endpoints.get(owner).hostPort() + "#";
      for (long i = 0; i < entries; i++) {
        ring.add(new Entry(hash(prefix + i), owner));
      }
    }
    ring.sort((a, b) -> Long.compareUnsigned(a.position, b.position));
    return ring.toArray(Entry[]::new);
  }

  private record Entry(long position, int owner) {}
}
