package dev.inmesh.control.source;

import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.ResourceKey;
import java.util.List;

/**
 * The answer to one apply or delete: whether it took effect, what it changed, what was found, and
 * whether a refusal was mesh-control's fault (its state could not be persisted, or did not load)
 * rather than the request's: the request may succeed as it is once that is fixed.
 */
public record ApplyResult(boolean accepted, List<ResourceKey> changed, List<Problem> problems, boolean serverFault) {
  public ApplyResult {
    changed = List.copyOf(changed);
    problems = List.copyOf(problems);
  }

  public ApplyResult(boolean accepted, List<ResourceKey> changed, List<Problem> problems) {
    this(accepted, changed, problems, false);
  }

  /** A refusal that is not the request's fault. */
  public static ApplyResult unavailable(Problem problem) {
    return new ApplyResult(false, List.of(), List.of(problem), true);
  }

  public List<Problem> errors() {
    return problems.stream().filter(Problem::isError).toList();
  }

  public List<Problem> warnings() {
    return problems.stream().filter(p -> !p.isError()).toList();
  }
}
