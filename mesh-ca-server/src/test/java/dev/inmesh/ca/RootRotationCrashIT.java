package dev.inmesh.ca;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.ca.internal.RootStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root rotation in a real process killed with SIGKILL at random points of each step, again and
 * again on one data directory. After every kill the directory must name a root that was already
 * signing or was prepared by the rotation, never a new one, and after every load it must hold no
 * key but the signing root's and the prepared root's.
 */
class RootRotationCrashIT {
  private static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
  // a kill costs a JVM start and the CA's load: about 0.5 s on an idle 2-core box, 1.3 s on a busy one
  private static final Duration BUDGET = Duration.ofSeconds(50);
  private static final int MAX_KILLS = 120;
  private static final int MIN_KILLS = 20;

  /** Where the rotating process is when it is killed; each kill aims at one, in turn. */
  enum Step {
    PREPARE, ACTIVATE, LOAD, RETIRE;

    String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Step of(String id) {
      return valueOf(id.toUpperCase(Locale.ROOT));
    }
  }

  @TempDir
  Path temp;

  @Test
  void aRotationKilledAtRandomPointsOfEveryStepKeepsItsRootAndNeverMakesASecondOne() throws Exception {
    Path dir = temp.resolve("ca");
    String first = serial(CertificateAuthority.builder(CaConfig.of("cluster.local", dir)).build().rootCertificate());
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    Map<Step, Long> stepMicros = new EnumMap<>(Step.class);
    Map<Step, Integer> killedInside = new EnumMap<>(Step.class);
    Set<String> roots = new HashSet<>(List.of(first));
    OnDisk before = OnDisk.read(dir);
    long started = System.nanoTime();
    long deadline = started + BUDGET.toNanos();
    int kills = 0;
    while (kills < MAX_KILLS && System.nanoTime() < deadline) {
      Step target = Step.values()[kills % Step.values().length];
      Rotation child = Rotation.start(dir, temp.resolve("rotator.log"));
      child.awaitLine("step " + target.id());
      long delay = random.nextLong(stepMicros.getOrDefault(target, 20_000L) + 1);
      TimeUnit.MICROSECONDS.sleep(delay);
      Output output = child.kill();
      kills++;

      output.interrupted().ifPresent(step -> killedInside.merge(step, 1, Integer::sum));
      stepMicros.putAll(output.stepMicros());
      OnDisk after = OnDisk.read(dir);
      Set<String> allowed = new HashSet<>(output.roots());
      allowed.add(before.current());
      before.next().ifPresent(allowed::add);
      assertThat(after.current()).as("kill %d (aimed at %s, seed %d): the signing root; before %s, the process printed"
          + " %s%nand logged%n%s", kills, target, seed, before, output.lines(), tail(temp.resolve("rotator.log")))
          .isIn(allowed);
      roots.add(after.current());
      after.next().ifPresent(roots::add);
      // a kill in activation leaves its debris to the next process's load, which is the next kill's target
      if (target != Step.ACTIVATE) {
        restartAndSign(dir, after);
      }
      before = after;
    }

    System.out.printf("RootRotationCrashIT: %d kills in %d s (seed %d), inside the steps %s, the rest between; %d roots%n",
        kills, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), seed, killedInside, roots.size());
    assertThat(kills).as("kills in the time budget").isGreaterThanOrEqualTo(MIN_KILLS);
    assertThat(killedInside.keySet()).as("steps that a kill interrupted").containsExactlyInAnyOrder(Step.values());
    restartAndSign(dir, OnDisk.read(dir));
  }

  /** Restarts the CA on the directory as a new process would, and checks what it signs with and what it keeps. */
  private static void restartAndSign(Path dir, OnDisk expected) throws IOException {
    CertificateAuthority ca = CertificateAuthority.builder(CaConfig.of("cluster.local", dir)).build();
    assertThat(serial(ca.rootCertificate())).as("the root after a restart").isEqualTo(expected.current());
    List<String> keys = keysOnDisk(dir);
    assertThat(keys).as("roots with a private key on disk")
        .containsExactlyInAnyOrderElementsOf(Stream.concat(Stream.of(expected.current()), expected.next().stream()).toList());
    List<String> trusted = ca.trustBundle().roots().stream().map(RootRotationCrashIT::serial).toList();
    assertThat(trusted).contains(expected.current());
    expected.next().ifPresent(next -> assertThat(trusted).contains(next));
    assertThat(trusted).as("trusted roots: the signing one, a prepared and a replaced one at most").hasSizeLessThanOrEqualTo(3);
    ca.previousRoot().ifPresent(previous -> assertThat(trusted).contains(serial(previous)));
    IssuedCertificate issued = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.Token(ca.joinTokens().create("shop", "web", Duration.ofMinutes(1)).value()));
    // the chain is leaf, intermediate, signing root, then the other trusted roots
    ca.trustBundle().verify(issued.chain().subList(0, 3), Instant.now());
  }

  /** What root-state says, and that the root it names loads. */
  record OnDisk(String current, Optional<String> next) {
    static OnDisk read(Path dir) throws IOException {
      String current = null;
      String next = null;
      for (String line : Files.readAllLines(dir.resolve(RootStore.STATE), US_ASCII)) {
        if (line.startsWith("current=")) {
          current = line.substring(8);
        } else if (line.startsWith("next=")) {
          next = line.substring(5);
        }
      }
      assertThat(current).as("root-state names the signing root").isNotNull();
      Path root = dir.resolve(RootStore.ROOTS).resolve(current);
      RootStore.load(root.resolve(RootStore.ROOT_CERT), root.resolve(RootStore.ROOT_KEY), Instant.now(), new SecureRandom());
      return new OnDisk(current, Optional.ofNullable(next));
    }
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  /** The directories holding a private key, by the serial they are named after. */
  private static List<String> keysOnDisk(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      List<String> keys = new ArrayList<>();
      for (Path file : files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList()) {
        if (Files.readString(file, US_ASCII).contains("PRIVATE KEY")) {
          keys.add(file.getParent().getFileName().toString());
        }
      }
      return keys;
    }
  }

  private static String serial(X509Certificate certificate) {
    return certificate.getSerialNumber().toString(16);
  }

  /** What a killed rotating process printed; its last line may be cut short. */
  record Output(List<String> lines) {
    private static final Pattern STEP = Pattern.compile("step (load|prepare|activate|retire)");
    private static final Pattern DONE = Pattern.compile("done (load|prepare|activate|retire) (\\d+)(?: ([0-9a-f]+))?");

    /** The step it was in when it died: it printed the step's start, not its end. */
    Optional<Step> interrupted() {
      Matcher step = STEP.matcher(lines.get(lines.size() - 1));
      return step.matches() ? Optional.of(Step.of(step.group(1))) : Optional.empty();
    }

    /** The roots its steps returned, by serial number. */
    Set<String> roots() {
      Set<String> roots = new HashSet<>();
      done().filter(done -> done.group(3) != null).forEach(done -> roots.add(done.group(3)));
      return roots;
    }

    /** How long each step it finished took, the last time. */
    Map<Step, Long> stepMicros() {
      Map<Step, Long> micros = new EnumMap<>(Step.class);
      done().forEach(done -> micros.put(Step.of(done.group(1)), Long.parseLong(done.group(2))));
      return micros;
    }

    private Stream<Matcher> done() {
      return lines.stream().map(DONE::matcher).filter(Matcher::matches);
    }
  }

  /** A rotating JVM and the lines it printed. */
  private static final class Rotation {
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();
    private final Thread reader;

    private Rotation(Process process) {
      this.process = process;
      this.reader = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), US_ASCII))) {
          for (String line = in.readLine(); line != null; line = in.readLine()) {
            lines.add(line);
          }
        } catch (IOException e) {
          // the process was killed mid-line; what it printed before is in the queue
        }
      }, "rotator-output");
      reader.start();
    }

    static Rotation start(Path dir, Path log) throws IOException {
      String java = ProcessHandle.current().info().command().orElse("java");
      return new Rotation(new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
          "-cp", System.getProperty("java.class.path"), Rotator.class.getName(), dir.toString())
          .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start());
    }

    void awaitLine(String expected) throws InterruptedException {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        String line = lines.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          process.destroyForcibly();
          throw new AssertionError("no '" + expected + "' from the rotating process in 30 s; it printed " + seen);
        }
        seen.add(line);
        if (line.equals(expected)) {
          return;
        }
      }
    }

    /** SIGKILL, then every line it printed. */
    Output kill() throws InterruptedException {
      // the handle's SIGKILL leaves the pipe open; Process.destroyForcibly() would close it, dropping lines unread
      process.toHandle().destroyForcibly();
      process.waitFor();
      reader.join();
      lines.drainTo(seen);
      return new Output(List.copyOf(seen));
    }
  }

  /**
   * The process under test: loads the CA, then rotates its root without pause (retire, prepare,
   * activate, with retire first when a replaced root waits from before). Before each step it
   * prints {@code step <name>}; after it, {@code done <name> <microseconds> [<root serial>]}.
   */
  static final class Rotator {
    public static void main(String[] args) {
      PrintStream out = new PrintStream(System.out, true, US_ASCII);
      CaConfig config = CaConfig.of("cluster.local", Path.of(args[0]));
      long start = begin(out, Step.LOAD);
      CertificateAuthority ca = CertificateAuthority.builder(config).build();
      done(out, Step.LOAD, start, "");
      while (true) {
        // a process killed before it retired leaves a previous root, and so would this one
        if (ca.previousRoot().isPresent()) {
          start = begin(out, Step.RETIRE);
          ca.retirePreviousRoot();
          done(out, Step.RETIRE, start, "");
        }
        start = begin(out, Step.PREPARE);
        X509Certificate next = ca.prepareRootRotation();
        done(out, Step.PREPARE, start, " " + serial(next));
        start = begin(out, Step.ACTIVATE);
        ca.activateNextRoot();
        done(out, Step.ACTIVATE, start, " " + serial(next));
      }
    }

    private static long begin(PrintStream out, Step step) {
      out.println("step " + step.id());
      return System.nanoTime();
    }

    private static void done(PrintStream out, Step step, long start, String root) {
      out.println("done " + step.id() + " " + TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start) + root);
    }
  }
}
