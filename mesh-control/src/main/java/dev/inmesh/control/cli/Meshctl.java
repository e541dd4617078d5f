package dev.inmesh.control.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import dev.inmesh.control.api.OperatorCredential;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code meshctl}: the operator's command line, {@code java -jar mesh-control.jar ctl …} or
 * {@code bin/meshctl …}. Every command but {@code analyze DIR} talks to mesh-control's HTTP API.
 *
 * <p>Exit codes: {@value #OK} success (for analyze: no finding at or above the fail threshold);
 * {@value #FINDINGS} findings, a rejected apply, or a refused request; {@value #USAGE} bad usage;
 * {@value #UNREACHABLE} the server cannot be reached; {@value #NACKED} an applied change was NACKed
 * by a client; {@value #TIMED_OUT} the wait for clients to answer an applied change ran out.
 */
@Command(name = "meshctl", mixinStandardHelpOptions = true, version = "meshctl 0.1.0",
    description = "Inspect and change an Inmesh mesh: apply, analyze, status, config-dump, explain.",
    subcommands = {
        ConfigCommands.Apply.class, ConfigCommands.Get.class, ConfigCommands.Describe.class,
        ConfigCommands.Delete.class, AnalyzeCommand.class, ClientCommands.Status.class,
        ClientCommands.ConfigDump.class, ClientCommands.Explain.class, TokenCommand.class, CredentialCommand.class},
    footer = {"", "Exit codes:", "  0  ok (analyze: nothing at or above --fail-threshold)",
        "  1  findings, a rejected apply, or a refused request", "  2  usage error", "  3  server unreachable",
        "  4  apply/delete: a client NACKed the change (it is in force at mesh-control)",
        "  5  apply/delete: --wait ran out before every affected client answered"})
public final class Meshctl {
  public static final int OK = 0;
  public static final int FINDINGS = 1;
  public static final int USAGE = 2;
  public static final int UNREACHABLE = 3;
  public static final int NACKED = 4;
  public static final int TIMED_OUT = 5;
  static final String DEFAULT_SERVER = "http://127.0.0.1:15014";

  /** What table, json and yaml mean is up to each command. */
  enum Format { table, json, yaml }

  @Option(names = "--server", scope = ScopeType.INHERIT, paramLabel = "URL",
      description = "mesh-control's HTTP API (default: $MESHCTL_SERVER, else " + DEFAULT_SERVER + ")")
  String server;

  @Option(names = "--credential", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "the credential file (server, token, CA) to call with (default: $MESHCTL_CREDENTIAL, else"
          + " ~/.inmesh/credential when it exists); $MESHCTL_TOKEN overrides its token")
  String credential;

  @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT",
      description = "table (for people), json or yaml (for scripts); default table")
  Format output = Format.table;

  private PrintStream out = System.out;
  private PrintStream err = System.err;
  private java.util.Map<String, String> env = System.getenv();

  String serverUrl() {
    return serverUrl(operatorCredential());
  }

  private String serverUrl(java.util.Optional<OperatorCredential> credential) {
    String chosen = server != null ? server
        : env.getOrDefault("MESHCTL_SERVER", credential.map(OperatorCredential::server).orElse(DEFAULT_SERVER));
    return chosen.endsWith("/") ? chosen.substring(0, chosen.length() - 1) : chosen;
  }

  ServerClient client() {
    java.util.Optional<OperatorCredential> found = operatorCredential();
    java.util.Optional<String> token = java.util.Optional.ofNullable(env.get("MESHCTL_TOKEN")).filter(t -> !t.isBlank())
        .or(() -> found.map(OperatorCredential::token));
    return new ServerClient(serverUrl(found), token, found.flatMap(OperatorCredential::certificateAuthority));
  }

  /**
   * The credential file named by {@code --credential} or {@code $MESHCTL_CREDENTIAL}, which must
   * then be readable, or else {@code ~/.inmesh/credential} when it exists.
   */
  private java.util.Optional<OperatorCredential> operatorCredential() {
    String named = credential != null ? credential : env.get("MESHCTL_CREDENTIAL");
    java.nio.file.Path file = named != null && !named.isBlank() ? java.nio.file.Path.of(named)
        : java.nio.file.Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".inmesh", "credential");
    if (named == null && !java.nio.file.Files.exists(file)) {
      return java.util.Optional.empty();
    }
    try {
      return java.util.Optional.of(OperatorCredential.read(file));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UsageException("the credential file " + file + " does not exist (mesh-control logs where it wrote"
          + " the admin credential)");
    } catch (java.io.IOException e) {
      throw new UsageException("cannot read the credential file: " + e.getMessage());
    }
  }

  PrintStream out() {
    return out;
  }

  PrintStream err() {
    return err;
  }

  /** Runs meshctl with {@code args} and returns its exit code; {@code env} stands in for the process environment. */
  public static int run(String[] args, PrintStream out, PrintStream err, java.util.Map<String, String> env) {
    Meshctl root = new Meshctl();
    root.out = out;
    root.err = err;
    root.env = env;
    CommandLine line = new CommandLine(root);
    line.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    line.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    // picocli answers bad usage with its ExitCode.USAGE, which is our USAGE (2)
    line.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof ServerClient.UnreachableException) {
        err.println("meshctl: " + e.getMessage());
        return UNREACHABLE;
      }
      if (e instanceof UsageException) {
        err.println("meshctl " + cmd.getCommandName() + ": " + e.getMessage());
        return USAGE;
      }
      if (e instanceof ServerClient.RefusedException || e instanceof java.io.IOException
          || e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
        err.println("meshctl " + cmd.getCommandName() + ": " + e.getMessage());
        return FINDINGS;
      }
      throw e;
    });
    return line.execute(args);
  }

  /** A request the user put wrongly that picocli's own checks cannot see. */
  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message);
    }
  }
}
