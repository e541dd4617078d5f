package dev.inmesh.control.analyze;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One analyzer finding: its code (and so its severity), the resource ({@code Kind/namespace/name}),
 * where the resource came from, the field path when one is to blame, and what is wrong.
 */
public record Finding(AnalysisCode code, String resource, String source, String field, String message) {
  public Finding {
    Objects.requireNonNull(code, "code");
    resource = Objects.requireNonNullElse(resource, "");
    source = Objects.requireNonNullElse(source, "");
    field = Objects.requireNonNullElse(field, "");
    Objects.requireNonNull(message, "message");
  }

  public Severity severity() {
    return code.severity();
  }

  /** As JSON and YAML show it, the same from the server's {@code /apis/analyze} and from meshctl offline. */
  public Map<String, Object> toMap() {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("code", code.name());
    entry.put("name", code.title());
    entry.put("severity", severity().label());
    entry.put("resource", resource);
    entry.put("source", source);
    entry.put("field", field);
    entry.put("message", message);
    return entry;
  }

  /** istioctl's line: {@code Error [IST0101] (VirtualService/default/reviews) spec.hosts[0]: message}. */
  @Override
  public String toString() {
    return severity().label() + " [" + code + "] (" + resource + ") " + (field.isEmpty() ? "" : field + ": ") + message;
  }
}
