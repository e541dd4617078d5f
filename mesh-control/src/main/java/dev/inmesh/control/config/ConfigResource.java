package dev.inmesh.control.config;

import java.util.Map;
import java.util.Objects;

/**
 * A validated Istio resource: its key, where it came from, and its typed spec. {@code yaml} is
 * the document as the user wrote it, kept for {@code get} and config dumps.
 */
public record ConfigResource(
    ResourceKey key,
    String apiVersion,
    String source,
    Map<String, String> labels,
    IstioSpec spec,
    String yaml) {

  public ConfigResource {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(apiVersion, "apiVersion");
    source = Objects.requireNonNullElse(source, "");
    labels = Map.copyOf(labels);
    Objects.requireNonNull(spec, "spec");
    yaml = Objects.requireNonNullElse(yaml, "");
  }

  public String kind() {
    return key.kind();
  }

  public String namespace() {
    return key.namespace();
  }

  public String name() {
    return key.name();
  }

  public <T extends IstioSpec> T spec(Class<T> type) {
    return type.cast(spec);
  }
}
