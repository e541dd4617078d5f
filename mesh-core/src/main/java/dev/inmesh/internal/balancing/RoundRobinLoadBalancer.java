package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * Weighted round robin. Each endpoint appears in a cycle of {@code sum(weight)} picks exactly
 * {@code weight} times, interleaved as smoothly as nginx's smooth weighted round robin
 * ({@code 3:1} goes {@code A A B A}).
 *
 * <p>The cycle is computed once for each set of healthy endpoints and shared by all threads, which
 * only advance one atomic counter: a pick takes no lock and allocates nothing. Health is read live
 * on every pick, and a change of it builds a new cycle over the endpoints now healthy (over all of
 * them when none is). A retry that lands on a tried endpoint moves on along the cycle.
 */
public final class RoundRobinLoadBalancer implements LoadBalancer {
  /** Bounds a cycle's memory; larger weight sums are scaled down to fit, approximately. */
  static final int MAX_CYCLE_LENGTH = 1 << 16;

  private final EndpointSet endpoints;
  private final AtomicLong next;
  private volatile Cycle cycle;

  private RoundRobinLoadBalancer(EndpointSet endpoints, RandomGenerator random) {
    this.endpoints = endpoints;
    // A random start keeps a fleet of clients that see the same list from all hitting its first
    // endpoint at once.
    this.next = new AtomicLong(Objects.requireNonNull(random, "random").nextInt(Integer.MAX_VALUE));
    this.cycle = Cycle.of(endpoints, healthFlags(endpoints));
  }

  public static RoundRobinLoadBalancer of(List<Endpoint> endpoints, EndpointState state, RandomGenerator random) {
    return new RoundRobinLoadBalancer(new EndpointSet(endpoints, state), random);
  }

  @Override
  public Optional<Endpoint> pick(PickRequest request) {
    if (endpoints.isEmpty()) {
      return Optional.empty();
    }
    Cycle current = cycle;
    if (!current.matchesHealthOf(endpoints)) {
      // Races here only build the same cycle twice; the last writer wins and both are correct.
      current = Cycle.of(endpoints, healthFlags(endpoints));
      cycle = current;
    }
    int[] order = current.order;
    int position = (int) Math.floorMod(next.getAndIncrement(), (long) order.length);
    int index = order[position];
    if (request.tried().isEmpty() || !request.tried().contains(endpoints.get(index))) {
      return endpoints.choice(index);
    }
    for (int step = 1; step < order.length; step++) {
      int other = order[(position + step) % order.length];
      if (!request.tried().contains(endpoints.get(other))) {
        return endpoints.choice(other);
      }
    }
    return endpoints.choice(index);
  }

  private static boolean[] healthFlags(EndpointSet endpoints) {
    boolean[] healthy = new boolean[endpoints.size()];
    for (int i = 0; i < healthy.length; i++) {
      healthy[i] = endpoints.isHealthy(i);
    }
    return healthy;
  }

  /** One cycle of endpoint indexes, and the health it was built for. */
  private static final class Cycle {
    final boolean[] healthy;
    final int[] order;

    private Cycle(boolean[] healthy, int[] order) {
      this.healthy = healthy;
      this.order = order;
    }

    boolean matchesHealthOf(EndpointSet endpoints) {
      for (int i = 0; i < healthy.length; i++) {
        if (endpoints.isHealthy(i) != healthy[i]) {
          return false;
        }
      }
      return true;
    }

    static Cycle of(EndpointSet endpoints, boolean[] healthy) {
      if (endpoints.isEmpty()) {
        return new Cycle(healthy, new int[0]);
      }
      boolean anyHealthy = false;
      for (boolean flag : healthy) {
        anyHealthy |= flag;
      }
      long[] weights = new long[healthy.length];
      long gcd = 0;
      long total = 0;
      for (int i = 0; i < weights.length; i++) {
        if (healthy[i] || !anyHealthy) {
          weights[i] = endpoints.get(i).weight();
          gcd = gcd(gcd, weights[i]);
          total += weights[i];
        }
      }
      for (int i = 0; i < weights.length; i++) {
        weights[i] /= gcd;
      }
      total /= gcd;
      if (total > MAX_CYCLE_LENGTH) {
        long scaled = 0;
        for (int i = 0; i < weights.length; i++) {
          if (weights[i] > 0) {
            weights[i] = Math.max(1, weights[i] * MAX_CYCLE_LENGTH / total);
            scaled += weights[i];
          }
        }
        total = scaled;
      }
      return new Cycle(healthy, interleave(weights, (int) total));
    }

    /**
     * Orders the k-th of endpoint i's {@code w} turns at {@code (k - 1/2) / w}: an earliest-deadline
     * schedule whose half-step offset spreads each endpoint's turns evenly over the cycle. Deadlines
     * are compared as exact fractions, so every endpoint gets exactly its weight in turns.
     */
    private static int[] interleave(long[] weights, int length) {
      Comparator<Turn> byDeadline =
          (a, b) -> Long.compare((2 * a.k - 1) * b.weight, (2 * b.k - 1) * a.weight);
      PriorityQueue<Turn> turns = new PriorityQueue<>(byDeadline.thenComparingInt(turn -> turn.index));
      for (int i = 0; i < weights.length; i++) {
        if (weights[i] > 0) {
          turns.add(new Turn(i, weights[i]));
        }
      }
      int[] order = new int[length];
      for (int position = 0; position < length; position++) {
        Turn turn = turns.remove();
        order[position] = turn.index;
        if (turn.k++ < turn.weight) {
          turns.add(turn);
        }
      }
      return order;
    }

    private static long gcd(long a, long b) {
      return b == 0 ? a : gcd(b, a % b);
    }
  }

  private static final class Turn {
    final int index;
    final long weight;
    long k = 1;

    Turn(int index, long weight) {
      this.index = index;
      this.weight = weight;
    }
  }
}
