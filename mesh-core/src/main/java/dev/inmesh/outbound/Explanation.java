package dev.inmesh.outbound;

import java.util.ArrayList;
import java.util.List;

/**
 * What produced a response: listener, route, match, cluster, subset, endpoints tried and faults.
 * Filled in as the pipeline runs; read with {@link #toString()} for the {@code x-inmesh-explain}
 * response header.
 */
public final class Explanation {
  private String listener = "-";
  private String route = "-";
  private String cluster = "-";
  private String fault = "none";
  private String result = "-";
  private final List<String> attempts = new ArrayList<>();

  void listener(String name) {
    listener = name;
  }

  void route(String name) {
    route = name;
  }

  void cluster(String name) {
    cluster = name;
  }

  void fault(String description) {
    fault = description;
  }

  void attempt(String endpoint, String outcome) {
    attempts.add(endpoint + "=" + outcome);
  }

  void result(String description) {
    result = description;
  }

  public String cluster() {
    return cluster;
  }

  /** The subset part of an Istio cluster name {@code outbound|port|subset|host}, or "-". */
  public String subset() {
    String[] parts = cluster.split("\\|", -1);
    return parts.length == 4 && !parts[2].isEmpty() ? parts[2] : "-";
  }

  public List<String> attempts() {
    return List.copyOf(attempts);
  }

  @Override
  public String toString() {
    return "listener=" + listener + "; route=" + route + "; cluster=" + cluster + "; subset=" + subset()
        + "; attempts=" + (attempts.isEmpty() ? "none" : String.join(",", attempts)) + "; fault=" + fault
        + "; result=" + result;
  }
}
