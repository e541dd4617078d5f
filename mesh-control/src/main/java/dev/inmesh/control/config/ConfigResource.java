package dev.inmesh.control.config;

import java.util.Map;
import java.util.Objects;

/**
 * A validated Istio resource: its key, where it came from, its labels and annotations (Istio
 * reads some, such as {@code istio.io/dry-run}), and its typed spec. {@code yaml} is
 * the document as the user wrote it, kept for {@code get} and config dumps.
 */
public record ConfigResource(
    ResourceKey key,
    String apiVersion,
    String source,
    Map<String, String> labels,
    Map<String, String> annotations,
    IstioSpec spec,
    String yaml) {

  public ConfigResource {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(apiVersion, "apiVersion");
    source = Objects.requireNonNullElse(source, "");
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
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
