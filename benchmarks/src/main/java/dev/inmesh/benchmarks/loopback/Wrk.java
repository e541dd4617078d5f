package dev.inmesh.benchmarks.loopback;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The closed loop at many connections: wrk ({@code apt-get install -y wrk}), a C load generator
 * that keeps its connections open, so that the load generator takes little of the CPU the ingress
 * needs. It does not verify the server's certificate.
 */
final class Wrk {
  private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in ([\\d.]+)(us|ms|s|m)");
  private static final Pattern SOCKET_ERRORS =
      Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

  /** What one wrk run answered: requests completed, over how long, and how many failed (socket errors, non-2xx). */
  record Result(long requests, double seconds, long failures) {
    double perSecond() {
      return requests / seconds;
    }
  }

  private Wrk() {}

  static Result run(String url, int threads, int connections, Duration duration) throws IOException, InterruptedException {
    String wrk = External.binary("wrk", "/usr/bin/wrk");
    Process process = new ProcessBuilder(List.of(wrk, "-t", Integer.toString(threads), "-c", Integer.toString(connections),
        "-d", duration.toSeconds() + "s", url)).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IOException("wrk failed: " + output);
    }
    return parse(output);
  }

  /** The figures of wrk's report. */
  static Result parse(String output) {
    Matcher requests = REQUESTS.matcher(output);
    if (!requests.find()) {
      throw new IllegalArgumentException("no \"N requests in T\" line in wrk's output: " + output);
    }
    double seconds = Double.parseDouble(requests.group(2)) * switch (requests.group(3)) {
      case "us" -> 1e-6;
      case "ms" -> 1e-3;
      case "m" -> 60;
      default -> 1;
    };
    long failures = 0;
    Matcher errors = SOCKET_ERRORS.matcher(output);
    if (errors.find()) {
      for (int group = 1; group <= 4; group++) {
        failures += Long.parseLong(errors.group(group));
      }
    }
    Matcher non2xx = NON_2XX.matcher(output);
    if (non2xx.find()) {
      failures += Long.parseLong(non2xx.group(1));
    }
    return new Result(Long.parseLong(requests.group(1)), seconds, failures);
  }
}
