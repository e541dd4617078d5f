package dev.inmesh.control.config;

import java.util.ArrayList;
import java.util.List;

/** Collects the problems found while reading one resource; knows the source and the resource. */
public final class Diagnostics {
  private final String source;
  private String resource = "";
  private final List<Problem> problems = new ArrayList<>();

  public Diagnostics(String source) {
    this.source = source;
  }

  public void resource(String resource) {
    this.resource = resource;
  }

  public String source() {
    return source;
  }

  public void error(String field, String message) {
    problems.add(new Problem(Problem.Severity.ERROR, source, resource, field, message));
  }

  public void warn(String field, String message) {
    problems.add(new Problem(Problem.Severity.WARNING, source, resource, field, message));
  }

  public boolean hasErrors() {
    return problems.stream().anyMatch(Problem::isError);
  }

  public List<Problem> problems() {
    return List.copyOf(problems);
  }
}
