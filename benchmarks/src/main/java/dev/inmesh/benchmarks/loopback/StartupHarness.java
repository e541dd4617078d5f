package dev.inmesh.benchmarks.loopback;

import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Start-up (P11) in new JVMs, several rounds in one run, so that its figure is a median and not
 * one JVM's luck. mesh-control with its CA and the mTLS harness's two echo workloads run here. Each
 * round starts, one after the other, a {@link StartupProbe} that builds a Mesh with a CA and makes
 * one routed mTLS call; the same with an AppCDS archive of its classes (written by a first probe
 * run, before the rounds); on JDK 25 and later, the same with the JVM's AOT cache (JEP 483/515:
 * classes loaded and linked, and method profiles; also written by a first run); and the same app's
 * one plain OkHttp call without Inmesh, the baseline. Each probe reports its own uptime when the
 * answer arrives, and the CPU its JVM used by then. P11 is the median of the first. The CPU, over
 * the box's cores, is the least any start could take that does the same work.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.loopback.StartupHarness [rounds]}
 */
public final class StartupHarness {
  /** How long a probe JVM may take to answer and exit; one that takes longer is killed and counts as failed. */
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(60);

  private StartupHarness() {}

  /**
   * Every round's uptime at the first answer, in ms, in the order run; -1 for a probe that failed.
   *
   * @param cdsMillis with an AppCDS archive; empty when none could be written
   * @param aotMillis with the AOT cache; empty before JDK 25, or when none could be written
   * @param plainMillis one plain OkHttp call, without Inmesh
   * @param meshCpuMillis the CPU each mesh probe (the first kind) had used by its answer, all threads
   * @param plainCpuMillis the same for each plain call
   */
  public record Result(List<Long> meshMillis, List<Long> cdsMillis, List<Long> aotMillis, List<Long> plainMillis,
      List<Long> meshCpuMillis, List<Long> plainCpuMillis) {
    public long mesh() {
      return median(meshMillis);
    }

    public long cds() {
      return median(cdsMillis);
    }

    public long aot() {
      return median(aotMillis);
    }

    public long plain() {
      return median(plainMillis);
    }

    public long meshCpu() {
      return median(meshCpuMillis);
    }

    public long plainCpu() {
      return median(plainCpuMillis);
    }

    /** The median of the runs (the lower of the middle two for an even count); -1 when any run failed or there was none. */
    static long median(List<Long> millis) {
      if (millis.isEmpty() || millis.contains(-1L)) {
        return -1;
      }
      List<Long> sorted = millis.stream().sorted().toList();
      return sorted.get((sorted.size() - 1) / 2);
    }
  }

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    Result result = run(rounds, System.out);
    System.out.println();
    LoopbackHarness.target(System.out, "P11", "JVM start to the first routed mTLS call", String.format(Locale.ROOT,
        "median of %d: %,d ms %s (with AppCDS: %,d ms %s;%s plain OkHttp's first call: %,d ms %s)", rounds,
        result.mesh(), result.meshMillis(), result.cds(), result.cdsMillis(),
        result.aotMillis().isEmpty() ? "" : String.format(Locale.ROOT, " with the AOT cache: %,d ms %s;", result.aot(), result.aotMillis()),
        result.plain(), result.plainMillis()),
        "≤ 1 s", result.mesh() >= 0 && result.mesh() <= 1000);
    int cores = Runtime.getRuntime().availableProcessors();
    if (result.meshCpu() >= 0) {
      System.out.printf(Locale.ROOT, "CPU by the answer, median: %,d ms with Inmesh, %,d ms plain; over %d processors, a start "
          + "that does the mesh probe's work takes at least %,d ms%n", result.meshCpu(), result.plainCpu(), cores,
          result.meshCpu() / cores);
    }
    // the servers' HTTP executors would keep the JVM up a while
    System.exit(0);
  }

  public static Result run(int rounds, PrintStream out) throws Exception {
    Path dir = Files.createTempDirectory("inmesh-startup-");
    List<AutoCloseable> closing = new ArrayList<>();
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral())) {
      MtlsHarness.Echoes echoes = MtlsHarness.echoes(control, closing);
      return measure(control, echoes.plain(), rounds, dir, out);
    } finally {
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
    }
  }

  /**
   * The probes against a running mesh-control whose echo workloads are up ({@code echoplain}
   * answers the plain baseline); {@code dir} takes the root certificate and the class caches.
   */
  static Result measure(MeshControl control, MtlsHarness.Served echoplain, int rounds, Path dir, PrintStream out)
      throws IOException, InterruptedException {
    CertificateAuthority ca = control.ca().orElseThrow();
    Path rootFile = Files.createTempFile(dir, "root-", ".pem");
    Files.writeString(rootFile, ca.trustBundle().toPem());
    // join tokens are single use: each probe gets its own
    Supplier<List<String>> meshProbe = () -> List.of("127.0.0.1:" + control.xdsPort(), "127.0.0.1:" + control.caGrpcPort(),
        rootFile.toString(), MtlsHarness.token(ca, "probe"));
    List<String> plainProbe = List.of("--plain", "http://127.0.0.1:" + echoplain.port() + "/");
    List<String> cds = classCache("-XX:ArchiveClassesAtExit=", "-XX:SharedArchiveFile=", dir.resolve("probe.jsa"),
        "AppCDS archive", meshProbe.get(), out);
    List<String> aot = Runtime.version().feature() < 25 ? List.of()
        : classCache("-XX:AOTCacheOutput=", "-XX:AOTCache=", dir.resolve("probe.aot"), "AOT cache", meshProbe.get(), out);
    List<Probe> mesh = new ArrayList<>();
    List<Probe> withCds = new ArrayList<>();
    List<Probe> withAot = new ArrayList<>();
    List<Probe> plain = new ArrayList<>();
    for (int i = 0; i < rounds; i++) {
      mesh.add(probe(List.of(), meshProbe.get(), out));
      if (!cds.isEmpty()) {
        withCds.add(probe(cds, meshProbe.get(), out));
      }
      if (!aot.isEmpty()) {
        withAot.add(probe(aot, meshProbe.get(), out));
      }
      // the same app without Inmesh, straight to the plaintext server's port
      plain.add(probe(List.of(), plainProbe, out));
    }
    return new Result(millis(mesh, Probe::millis), millis(withCds, Probe::millis), millis(withAot, Probe::millis),
        millis(plain, Probe::millis), millis(mesh, Probe::cpuMillis), millis(plain, Probe::cpuMillis));
  }

  /** One probe JVM's report: its uptime at the answer and the CPU it had used by then, in ms; -1 each when it failed. */
  record Probe(long millis, long cpuMillis) {
    static final Probe FAILED = new Probe(-1, -1);
  }

  private static List<Long> millis(List<Probe> probes, ToLongFunction<Probe> which) {
    return probes.stream().mapToLong(which).boxed().toList();
  }

  /**
   * A class cache of the probe's (AppCDS, or JDK 25's AOT cache): a first probe run writes it at
   * its exit with {@code write}; returns the flag that maps it in the measured runs, or nothing
   * when none was written (either takes a class path of jars only).
   */
  private static List<String> classCache(String write, String use, Path file, String what, List<String> meshProbe,
      PrintStream out) throws IOException, InterruptedException {
    probe(List.of(write + file), meshProbe, out);
    if (!Files.exists(file)) {
      out.println("no " + what + " was written (it takes a class path of jars only)");
      return List.of();
    }
    return List.of(use + file);
  }

  /**
   * A new {@link StartupProbe} JVM: with the mesh's arguments it builds a Mesh with a CA and calls
   * echo once over mTLS; with {@code --plain url} it makes one plain OkHttp call. Prints what it
   * reported and returns its uptime at the answer and its CPU by then.
   */
  private static Probe probe(List<String> flags, List<String> arguments, PrintStream out)
      throws IOException, InterruptedException {
    return probe(flags, arguments, out, PROBE_TIMEOUT);
  }

  /** {@link #probe(List, List, PrintStream)}, killing a probe that has not exited after {@code timeout}. */
  static Probe probe(List<String> flags, List<String> arguments, PrintStream out, Duration timeout)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(flags);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), StartupProbe.class.getName()));
    command.addAll(arguments);
    // to a file, not a pipe: reading a pipe to its end would wait as long as a hung probe lives
    Path log = Files.createTempFile("inmesh-startup-probe-", ".log");
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor();
        out.println("the start-up probe did not exit within " + timeout.toSeconds() + " s and was killed: "
            + lastLines(Files.readString(log, StandardCharsets.UTF_8)));
        return Probe.FAILED;
      }
      return report(Files.readString(log, StandardCharsets.UTF_8), flags, out);
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static List<String> lastLines(String output) {
    List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
    return lines.subList(Math.max(0, lines.size() - 10), lines.size());
  }

  /** What a probe that exited printed: its lines echoed to {@code out}, its uptime and CPU parsed. */
  private static Probe report(String output, List<String> flags, PrintStream out) {
    Matcher matcher = Pattern.compile("first (routed mTLS|plain) call answered (\\d+) ms after JVM start").matcher(output);
    Matcher cpu = Pattern.compile("cpu by the answer: ([\\d,]+) ms").matcher(output);
    if (!matcher.find() || !cpu.find()) {
      out.println("the start-up probe failed: " + output.lines().filter(l -> !l.isBlank()).limit(10).toList());
      return Probe.FAILED;
    }
    String suffix = flags.isEmpty() ? "" : " " + String.join(" ", flags);
    output.lines().filter(l -> l.startsWith("first ") || l.startsWith("cpu ") || l.startsWith("footprint "))
        .forEach(l -> out.println(l + suffix));
    return new Probe(Long.parseLong(matcher.group(2)), Long.parseLong(cpu.group(1).replace(",", "")));
  }
}
