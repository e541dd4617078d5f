package dev.inmesh.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inmesh.control.config.SpecReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Waits for an applied change to reach the clients, as {@code istioctl x wait} and
 * {@code kubectl rollout status} do: it reads {@code GET /apis/rollout?generation=N} until every
 * client the change affects has ACKed or NACKed it, or the wait runs out.
 */
final class RolloutWait {
  /** {@code istioctl x wait}'s default timeout. */
  static final String DEFAULT = "30s";
  private static final long FIRST_POLL_MILLIS = 50;
  private static final long POLL_MILLIS = 250;

  private RolloutWait() {}

  /** What the wait found: the exit code, the last rollout read, and the lines for people. */
  record Result(int exitCode, JsonNode rollout, List<String> out, List<String> err) {}

  /**
   * {@code --wait}'s value: a duration as istioctl and Istio's YAML write them ({@code 30s},
   * {@code 1m30s}, {@code 500ms}), or {@code 0} for no wait.
   */
  static Duration parse(String text) {
    if (text.strip().equals("0")) {
      return Duration.ZERO;
    }
    Duration parsed = SpecReader.parseDuration(text)
        .orElseThrow(() -> new Meshctl.UsageException("--wait takes a duration such as 30s, 2m or 500ms, or 0 for no"
            + " wait; got '" + text + "'"));
    if (parsed.isNegative()) {
      throw new Meshctl.UsageException("--wait must not be negative, got '" + text + "'");
    }
    return parsed;
  }

  /**
   * Reads the rollout of {@code generation} until it settles or {@code deadlineNanos} (of
   * {@link System#nanoTime()}) passes.
   *
   * @param startedNanos when the apply was sent, for the time it took
   */
  static Result await(ServerClient client, String what, long generation, long startedNanos, long deadlineNanos,
      Duration wait) {
    long pause = FIRST_POLL_MILLIS;
    while (true) {
      JsonNode rollout = client.get("/apis/rollout?generation=" + generation);
      boolean settled = rollout.path("settled").asBoolean();
      boolean over = System.nanoTime() - deadlineNanos >= 0;
      if (settled || over) {
        return settled ? settled(what, generation, rollout, startedNanos) : timedOut(what, generation, rollout, wait);
      }
      try {
        Thread.sleep(Math.min(pause, Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return timedOut(what, generation, rollout, wait);
      }
      pause = POLL_MILLIS;
    }
  }

  private static Result settled(String what, long generation, JsonNode rollout, long startedNanos) {
    String took = String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - startedNanos) / 1e9);
    int affected = rollout.path("affected").asInt();
    int acked = rollout.path("acked").asInt();
    int nacked = rollout.path("nacked").asInt();
    List<String> out = new ArrayList<>();
    List<String> err = new ArrayList<>();
    if (affected == 0) {
      out.add(what + ": generation " + generation + " changed the config of no connected client" + others(rollout));
      return new Result(Meshctl.OK, rollout, out, err);
    }
    String counted = acked + " of " + affected + " client" + (affected == 1 ? "" : "s") + " ACKed generation "
        + generation + " in " + took + others(rollout);
    if (nacked == 0) {
      out.add(what + ": " + counted);
      return new Result(Meshctl.OK, rollout, out, err);
    }
    for (JsonNode client : rollout.path("clients")) {
      if (client.path("state").asText().equals("nacked")) {
        client.path("nacks").fields().forEachRemaining(nack -> err.add(what + ": client " + name(client) + " NACKed "
            + nack.getKey() + " " + shortVersion(client.path("versions").path(nack.getKey()).asText()) + ": "
            + nack.getValue().asText()));
      }
    }
    err.add("meshctl: " + what + ": " + nacked + " of " + affected + " client" + (affected == 1 ? "" : "s")
        + " NACKed generation " + generation + " (" + counted + "); they keep the config they held before");
    return new Result(Meshctl.NACKED, rollout, out, err);
  }

  private static Result timedOut(String what, long generation, JsonNode rollout, Duration wait) {
    List<String> err = new ArrayList<>();
    String within = "within " + SpecReader.format(wait) + " (--wait)";
    if (rollout.path("translatedAt").isNull() || rollout.path("translatedAt").isMissingNode()) {
      err.add("meshctl: " + what + ": mesh-control has not translated generation " + generation + " " + within
          + "; GET /apis/status shows translation problems");
      return new Result(Meshctl.TIMED_OUT, rollout, List.of(), err);
    }
    List<String> behind = new ArrayList<>();
    for (JsonNode client : rollout.path("clients")) {
      String state = client.path("state").asText();
      if (state.equals("nacked")) {
        client.path("nacks").fields().forEachRemaining(nack -> err.add(what + ": client " + name(client) + " NACKed "
            + nack.getKey() + ": " + nack.getValue().asText()));
      } else if (state.equals("pending")) {
        List<String> types = new ArrayList<>();
        client.path("versions").fieldNames().forEachRemaining(types::add);
        behind.add(name(client) + " " + types);
      }
    }
    behind.forEach(client -> err.add(what + ": client " + client + " has not answered"));
    err.add("meshctl: " + what + ": " + rollout.path("acked").asInt() + " of " + rollout.path("affected").asInt()
        + " clients ACKed generation " + generation + " " + within + ", " + rollout.path("nacked").asInt()
        + " NACKed, " + rollout.path("pending").asInt() + " still behind; the change is in force at mesh-control"
        + " (meshctl status shows each client)");
    return new Result(rollout.path("nacked").asInt() > 0 ? Meshctl.NACKED : Meshctl.TIMED_OUT, rollout, List.of(), err);
  }

  /** {@code node-id (service.namespace, grpc)}: who the client is, as an operator finds it. */
  private static String name(JsonNode client) {
    String service = client.path("service").asText("");
    return client.path("node").asText() + " (" + (service.isEmpty() ? "namespace " + client.path("namespace").asText()
        : service) + ", " + client.path("kind").asText() + ")";
  }

  private static String others(JsonNode rollout) {
    List<String> notes = new ArrayList<>();
    int unaffected = rollout.path("unaffected").asInt();
    int disconnected = rollout.path("disconnected").asInt();
    if (unaffected > 0) {
      notes.add(unaffected + " not affected");
    }
    if (disconnected > 0) {
      notes.add(disconnected + " disconnected before answering");
    }
    return notes.isEmpty() ? "" : " (" + String.join(", ", notes) + ")";
  }

  private static String shortVersion(String version) {
    return version.length() > 8 ? version.substring(0, 8) : version;
  }
}
