package dev.inmesh.internal.model;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Remembers a pure function's results for inputs that come back on every call: a peer's metadata
 * header, a peer's certificate, an endpoint's address. A process meets few of them, and each costs
 * a parse when read anew. Past its bound a memo forgets everything at once (simpler than LRU, and
 * inputs that recur are remembered again at their next call), so inputs that never recur cannot
 * grow it. Safe for concurrent use; two threads may compute the same result once each.
 *
 * @param <K> the input; its {@code equals} and {@code hashCode} decide what is the same input
 * @param <V> the result, never null
 */
public final class Memo<K, V> {
  private final int bound;
  private final Function<K, V> function;
  private final Map<K, V> results = new ConcurrentHashMap<>();

  /** @param bound the most results kept; the next one clears them first */
  public Memo(int bound, Function<K, V> function) {
    if (bound < 1) {
      throw new IllegalArgumentException("a memo keeps at least one result, got a bound of " + bound);
    }
    this.bound = bound;
    this.function = Objects.requireNonNull(function, "function");
  }

  /** The function's result for {@code input}, computed at its first call or after the memo was cleared. */
  public V apply(K input) {
    V result = results.get(input);
    if (result == null) {
      result = Objects.requireNonNull(function.apply(input), "a memo's function must not return null");
      if (results.size() >= bound) {
        results.clear();
      }
      results.put(input, result);
    }
    return result;
  }

  /** How many results are kept now. */
  public int size() {
    return results.size();
  }
}
