package dev.inmesh.internal.outbound;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What produced a response: listener, route, match, cluster, subset, endpoints tried and faults.
 * Filled in as the pipeline runs; read with {@link #toString()} for the {@code x-inmesh-explain}
 * response header. Calls that do not ask for it share {@link #DISABLED}, which records nothing, so
 * the request path builds no strings for it.
 */
public final class Explanation {
  static final Explanation DISABLED = new Explanation(false);

  private final boolean enabled;
  private String listener = "-";
  private String route = "-";
  private String cluster = "-";
  private String fault = "none";
  private String result = "-";
  private final List<String> attempts = new ArrayList<>();

  Explanation() {
    this(true);
  }

  private Explanation(boolean enabled) {
    this.enabled = enabled;
  }

  void listener(String name) {
    if (enabled) {
      listener = name;
    }
  }

  void route(String name) {
    if (enabled) {
      route = name;
    }
  }

  void cluster(String name) {
    if (enabled) {
      cluster = name;
    }
  }

  void delayed(Duration delay) {
    if (enabled) {
      fault = "delay " + delay.toMillis() + "ms";
    }
  }

  void aborted(int status) {
    if (enabled) {
      fault = "abort " + status;
    }
  }

  void attempt(Endpoint endpoint, int status, Outcome outcome) {
    if (enabled) {
      attempts.add(endpoint.hostPort() + "=" + (status != 0 ? Integer.toString(status) : outcome.name().toLowerCase(Locale.ROOT)));
    }
  }

  void retryNotTaken(String reason) {
    if (enabled) {
      attempts.add("retry=" + reason);
    }
  }

  void result(int status, String flag) {
    if (enabled) {
      result = flag.isEmpty() ? Integer.toString(status) : status + " " + flag;
    }
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
