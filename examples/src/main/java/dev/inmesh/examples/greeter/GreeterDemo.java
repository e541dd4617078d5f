package dev.inmesh.examples.greeter;

import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.GreeterBackend;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The first Inmesh demo, in one JVM: mesh-control reads Istio YAML from a directory, two versions
 * of a greeter register with it over mutual TLS (each with a certificate from its CA), and an
 * unmodified grpc-java client dialing {@code xds:///greeter:9000}, which has no certificate and
 * reads config from mesh-control's read-only port, follows an 80/20 traffic split, then a rollback
 * to 100/0 made by rewriting one file.
 *
 * <p>Run it with {@code bin/demo}. It exits non-zero when what the client observes is more than
 * five points away from what the config says, so the demo cannot silently rot.
 */
public final class GreeterDemo {
  static final String TARGET = "xds:///greeter:9000";
  static final String BOOTSTRAP_PROPERTY = "io.grpc.xds.bootstrapConfig";
  private static final String VIRTUAL_SERVICE_FILE = "greeter-virtualservice.yaml";
  private static final int CALLS = 1000;
  private static final double TOLERANCE_POINTS = 5;
  private static final int CONSECUTIVE_ANSWERS = 50;
  private static final Duration WAIT = Duration.ofSeconds(30);

  private GreeterDemo() {}

  public static void main(String[] args) {
    try {
      run(System.out);
    } catch (DemoFailure e) {
      System.err.println("DEMO FAILED: " + e.getMessage());
      System.exit(1);
    } catch (Exception e) {
      System.err.println("DEMO FAILED: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  /** The whole demo. Returns the two splits the client observed, or throws naming the step that failed. */
  public static Result run(PrintStream out) throws Exception {
    Path configDir = Files.createTempDirectory("inmesh-demo-");
    try {
      write(configDir, "greeter-destinationrule.yaml", DESTINATION_RULE);
      write(configDir, VIRTUAL_SERVICE_FILE, virtualService(80, 20));

      try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withXdsReadOnlyPort(0)
              .withConfigDir(configDir)
              .withPollInterval(Duration.ofMillis(200)));
           GreeterBackend v1 = GreeterBackend.start(access(control), "greeter", "default", 9000, "v1", Duration.ZERO);
           GreeterBackend v2 = GreeterBackend.start(access(control), "greeter", "default", 9000, "v2", Duration.ZERO)) {
        out.printf("mesh-control: xDS on %s, HTTP API on http://127.0.0.1:%d, config in %s%n",
            xdsAddress(control), control.httpPort(), configDir);
        await(() -> control.workloads().size() == 2, () -> "both greeter backends to register with mesh-control");
        out.printf("greeter v1 on port %d and v2 on port %d registered as greeter.default, port 9000%n",
            v1.port(), v2.port());

        useXdsBootstrap(access(control).readOnlyAddress());
        ManagedChannel client = Grpc.newChannelBuilder(TARGET, InsecureChannelCredentials.create()).build();
        try {
          // Both versions answering means listener, routes, clusters and endpoints have all arrived.
          awaitAnswersFrom(client, Set.of("v1", "v2"));
          Split weighted = Split.measure(client, CALLS);
          report(out, 80, weighted);

          write(configDir, VIRTUAL_SERVICE_FILE, virtualService(100, 0));
          out.println("rewrote " + VIRTUAL_SERVICE_FILE + " to send 100/0");
          awaitConsecutiveAnswersFrom(client, "v1");
          Split rolledBack = Split.measure(client, CALLS);
          report(out, 100, rolledBack);

          out.println("The client followed both configs without a restart: plain grpc-java, xds:///, mesh-control.");
          return new Result(weighted, rolledBack);
        } finally {
          client.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    } finally {
      deleteRecursively(configDir);
    }
  }

  /** What the client observed under each config. */
  public record Result(Split weighted, Split rolledBack) {}

  /**
   * Points grpc-xds at mesh-control, the way an application is configured. grpc-xds reads the
   * bootstrap once per JVM, so a second, different bootstrap would be silently ignored: refuse it.
   */
  /** How the greeters reach mesh-control: mutual TLS with certificates from its CA; the client, its read-only port. */
  static dev.inmesh.testing.ControlPlaneAccess access(MeshControl control) {
    var authority = control.ca().orElseThrow();
    return new dev.inmesh.testing.ControlPlaneAccess(xdsAddress(control),
        java.util.Optional.of("127.0.0.1:" + control.xdsReadOnlyPort().getAsInt()),
        java.util.Optional.of(new dev.inmesh.testing.ControlPlaneAccess.Ca("127.0.0.1:" + control.caGrpcPort(),
            authority.trustBundle().toPem(),
            (namespace, account) -> authority.joinTokens().create(namespace, account, Duration.ofMinutes(10)).value())));
  }

  static void useXdsBootstrap(String xdsAddress) throws DemoFailure {
    String bootstrap = """
        {
          "xds_servers": [{
            "server_uri": "%s",
            "channel_creds": [{"type": "insecure"}],
            "server_features": ["xds_v3"]
          }],
          "node": {
            "id": "greeter-demo-client",
            "metadata": {"NAMESPACE": "default"}
          }
        }
        """.formatted(xdsAddress);
    String existing = System.getProperty(BOOTSTRAP_PROPERTY);
    if (existing != null && !existing.equals(bootstrap)) {
      throw new DemoFailure(BOOTSTRAP_PROPERTY + " is already set in this JVM, and grpc-xds reads it only once;"
          + " run the demo in a fresh JVM");
    }
    System.setProperty(BOOTSTRAP_PROPERTY, bootstrap);
  }

  private static void report(PrintStream out, int v1Weight, Split split) throws DemoFailure {
    String config = v1Weight + "/" + (100 - v1Weight);
    out.printf("%-13s %s%n", config + " config:", split);
    if (split.failed() > 0) {
      throw new DemoFailure(split.failed() + " of " + split.calls() + " calls failed under the " + config
          + " config: " + split.failures());
    }
    double offBy = Math.abs(split.percent("v1") - v1Weight);
    if (offBy > TOLERANCE_POINTS) {
      throw new DemoFailure(String.format(Locale.ROOT,
          "the observed split (%s) is %.1f points away from the %s config; at most %.0f is expected",
          split, offBy, config, TOLERANCE_POINTS));
    }
  }

  private static void awaitAnswersFrom(ManagedChannel client, Set<String> versions) throws DemoFailure {
    Set<String> seen = new HashSet<>();
    String[] lastError = {"none"};
    await(() -> {
      try {
        seen.add(Greeter.versionOf(Greeter.sayHello(client, "demo", Map.of(), Duration.ofSeconds(2))));
      } catch (StatusRuntimeException e) {
        lastError[0] = e.getStatus().toString();
      }
      return seen.containsAll(versions);
    }, () -> "answers from " + versions + " through " + TARGET + " (answered so far: " + seen
        + "; last error: " + lastError[0] + ")");
  }

  /** A change has reached the client when enough answers in a row obey it. */
  private static void awaitConsecutiveAnswersFrom(ManagedChannel client, String version) throws DemoFailure {
    int[] streak = {0};
    int[] best = {0};
    await(() -> {
      try {
        boolean match = Greeter.versionOf(Greeter.sayHello(client, "demo", Map.of(), Duration.ofSeconds(2)))
            .equals(version);
        streak[0] = match ? streak[0] + 1 : 0;
        best[0] = Math.max(best[0], streak[0]);
      } catch (StatusRuntimeException e) {
        streak[0] = 0;
      }
      return streak[0] >= CONSECUTIVE_ANSWERS;
    }, () -> CONSECUTIVE_ANSWERS + " answers in a row from " + version + " after the rewrite (best streak: "
        + best[0] + ")");
  }

  private static void await(BooleanSupplier condition, Supplier<String> what) throws DemoFailure {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new DemoFailure("gave up after " + WAIT.toSeconds() + " s waiting for " + what.get());
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DemoFailure("interrupted while waiting for " + what.get());
      }
    }
  }

  private static String xdsAddress(MeshControl control) {
    return "127.0.0.1:" + control.xdsPort();
  }

  /** mesh-control polls the directory; moving a finished file into place means it never reads half of one. */
  private static void write(Path dir, String file, String yaml) throws IOException {
    Path temp = Files.createTempFile(dir, "." + file, ".tmp");
    Files.writeString(temp, yaml, StandardCharsets.UTF_8);
    Files.move(temp, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }

  private static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: greeter
        namespace: default
      spec:
        host: greeter
        subsets:
        - name: v1
          labels:
            version: v1
        - name: v2
          labels:
            version: v2
      """;

  private static String virtualService(int v1Weight, int v2Weight) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: greeter
          namespace: default
        spec:
          hosts:
          - greeter
          http:
          - route:
            - destination:
                host: greeter
                subset: v1
              weight: %d
            - destination:
                host: greeter
                subset: v2
              weight: %d
        """.formatted(v1Weight, v2Weight);
  }

  /** Which version answered how many calls, and how many calls failed, with which status. */
  public record Split(Map<String, Integer> answers, Map<String, Integer> failures, int calls) {
    public Split {
      answers = Map.copyOf(answers);
      failures = Map.copyOf(failures);
    }

    static Split measure(ManagedChannel client, int calls) {
      Map<String, Integer> answers = new TreeMap<>();
      Map<String, Integer> failures = new TreeMap<>();
      for (int i = 0; i < calls; i++) {
        try {
          answers.merge(Greeter.versionOf(Greeter.sayHello(client, "demo", Map.of(), Duration.ofSeconds(5))), 1,
              Integer::sum);
        } catch (StatusRuntimeException e) {
          failures.merge(e.getStatus().getCode().name(), 1, Integer::sum);
        }
      }
      return new Split(answers, failures, calls);
    }

    public double percent(String version) {
      return 100.0 * answers.getOrDefault(version, 0) / calls;
    }

    public int failed() {
      return failures.values().stream().mapToInt(Integer::intValue).sum();
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "v1 %.1f%%  v2 %.1f%%  (%d calls, %d failed)",
          percent("v1"), percent("v2"), calls, failed());
    }
  }

  /** A step of the demo did not do what it shows. */
  static final class DemoFailure extends Exception {
    DemoFailure(String message) {
      super(message);
    }
  }
}
