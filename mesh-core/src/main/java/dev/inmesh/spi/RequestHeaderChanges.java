package dev.inmesh.spi;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Changes the mesh makes to a request's headers before the application sees it: first every header
 * in {@code removed} goes, then every header in {@code set} is written with one value (replacing
 * any the caller sent). End-user authentication uses them to take a verified token off the request
 * ({@code forwardOriginalToken: false}) and to hand its payload or claims on
 * ({@code outputPayloadToHeader}, {@code outputClaimToHeaders}).
 *
 * @param removed lower-case header names
 * @param set lower-case header names and their single values, in order
 */
public record RequestHeaderChanges(Set<String> removed, Map<String, String> set) {
  public static final RequestHeaderChanges NONE = new RequestHeaderChanges(Set.of(), Map.of());

  public RequestHeaderChanges {
    removed = Set.copyOf(removed.stream().map(n -> n.toLowerCase(Locale.ROOT)).toList());
    Map<String, String> copy = new LinkedHashMap<>();
    set.forEach((name, value) -> copy.put(name.toLowerCase(Locale.ROOT), Objects.requireNonNull(value, name)));
    set = java.util.Collections.unmodifiableMap(copy);
  }

  public boolean isEmpty() {
    return removed.isEmpty() && set.isEmpty();
  }

  /** Whether the header {@code name} is one these changes remove or replace. */
  public boolean touches(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    return removed.contains(lower) || set.containsKey(lower);
  }

  /** A header's values as the application must see them, given what the caller sent. */
  public List<String> apply(String name, List<String> sent) {
    String lower = name.toLowerCase(Locale.ROOT);
    String value = set.get(lower);
    if (value != null) {
      return List.of(value);
    }
    return removed.contains(lower) ? List.of() : sent;
  }

  /** The header names the application sees, given the names the caller sent. */
  public List<String> names(Iterable<String> sent) {
    List<String> names = new ArrayList<>();
    for (String name : sent) {
      if (!touches(name)) {
        names.add(name);
      }
    }
    names.addAll(set.keySet());
    return names;
  }
}
