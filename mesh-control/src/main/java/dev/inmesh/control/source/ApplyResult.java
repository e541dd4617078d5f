package dev.inmesh.control.source;

import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.ResourceKey;
import java.util.List;

/** The answer to one apply or delete: whether it took effect, what it changed, what was found. */
public record ApplyResult(boolean accepted, List<ResourceKey> changed, List<Problem> problems) {
  public ApplyResult {
    changed = List.copyOf(changed);
    problems = List.copyOf(problems);
  }

  public List<Problem> errors() {
    return problems.stream().filter(Problem::isError).toList();
  }

  public List<Problem> warnings() {
    return problems.stream().filter(p -> !p.isError()).toList();
  }
}
