package dev.inmesh.control.config;

import java.util.Comparator;
import java.util.Objects;

/** kind/namespace/name: what makes a resource unique in the mesh. */
public record ResourceKey(String kind, String namespace, String name) implements Comparable<ResourceKey> {
  private static final Comparator<ResourceKey> ORDER = Comparator.comparing(ResourceKey::kind)
      .thenComparing(ResourceKey::namespace)
      .thenComparing(ResourceKey::name);

  public ResourceKey {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
  }

  /** Parses {@code Kind/namespace/name} or {@code Kind/name} (namespace "default"). */
  public static ResourceKey parse(String text) {
    String[] parts = text.split("/");
    if (parts.length == 3) {
      return new ResourceKey(parts[0], parts[1], parts[2]);
    }
    if (parts.length == 2) {
      return new ResourceKey(parts[0], "default", parts[1]);
    }
    throw new IllegalArgumentException("expected Kind/namespace/name, got '" + text + "'");
  }

  @Override
  public int compareTo(ResourceKey other) {
    return ORDER.compare(this, other);
  }

  @Override
  public String toString() {
    return kind + "/" + namespace + "/" + name;
  }
}
