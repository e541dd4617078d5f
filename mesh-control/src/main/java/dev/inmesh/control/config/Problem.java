package dev.inmesh.control.config;

import java.util.Objects;

/**
 * One finding about the config: where it is (the file or request, the resource, the field path)
 * and what is wrong. Errors reject the resource's file or request; warnings are accepted and shown
 * in the log, in the apply response and in the status API.
 */
public record Problem(Severity severity, String source, String resource, String field, String message) {
  public enum Severity { ERROR, WARNING }

  public Problem {
    Objects.requireNonNull(severity, "severity");
    source = Objects.requireNonNullElse(source, "");
    resource = Objects.requireNonNullElse(resource, "");
    field = Objects.requireNonNullElse(field, "");
    Objects.requireNonNull(message, "message");
  }

  public boolean isError() {
    return severity == Severity.ERROR;
  }

  /** {@code file.yaml: VirtualService/default/reviews: spec.http[0].route[0].weight: message}. */
  @Override
  public String toString() {
    StringBuilder line = new StringBuilder();
    if (severity == Severity.WARNING) {
      line.append("warning: ");
    }
    for (String part : new String[] {source, resource, field}) {
      if (!part.isEmpty()) {
        line.append(part).append(": ");
      }
    }
    return line.append(message).toString();
  }
}
