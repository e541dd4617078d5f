package dev.inmesh.control.config;

import java.util.List;

/** What one file or request held: the resources that passed, and every problem found. */
public record ParseResult(List<ConfigResource> resources, List<Problem> problems) {
  public ParseResult {
    resources = List.copyOf(resources);
    problems = List.copyOf(problems);
  }

  public boolean hasErrors() {
    return problems.stream().anyMatch(Problem::isError);
  }

  public List<Problem> errors() {
    return problems.stream().filter(Problem::isError).toList();
  }

  public List<Problem> warnings() {
    return problems.stream().filter(p -> !p.isError()).toList();
  }
}
