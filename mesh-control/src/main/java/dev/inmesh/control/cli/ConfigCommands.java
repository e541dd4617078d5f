package dev.inmesh.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inmesh.control.analyze.ConfigFiles;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.ResourceKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** The config itself: {@code apply}, {@code get}, {@code describe}, {@code delete}. */
final class ConfigCommands {
  private ConfigCommands() {}

  /** Validated here first, so an error names the file; then sent, one file per request. */
  @Command(name = "apply", description = "Create or replace the resources in files or directories (*.yaml, *.yml).")
  static final class Apply implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE|DIR", description = "repeatable")
    List<Path> files;

    @Option(names = "--wait", defaultValue = RolloutWait.DEFAULT, paramLabel = "DURATION", description = {
        "how long to wait for every connected client that the change affects to ACK or NACK it (30s, 2m, 500ms);"
            + " 0 returns as soon as mesh-control has stored it. Default: ${DEFAULT-VALUE}"})
    String wait;

    @Override
    public Integer call() throws IOException {
      return send(root, files, "/apis/apply", "applied", RolloutWait.parse(wait));
    }
  }

  @Command(name = "delete", description = "Delete the resources named in files, or one resource Kind/name.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Option(names = {"-f", "--filename"}, paramLabel = "FILE|DIR", description = "repeatable")
    List<Path> files = new ArrayList<>();

    @Option(names = {"-n", "--namespace"}, defaultValue = "default")
    String namespace;

    @Parameters(arity = "0..1", paramLabel = "KIND/NAME", description = "VirtualService/reviews or Kind/namespace/name")
    String resource;

    @Option(names = "--wait", defaultValue = RolloutWait.DEFAULT, paramLabel = "DURATION", description = {
        "how long to wait for every connected client that the change affects to ACK or NACK it; 0 for no wait."
            + " Default: ${DEFAULT-VALUE}"})
    String wait;

    @Override
    public Integer call() throws IOException {
      if (files.isEmpty() == (resource == null)) {
        throw new Meshctl.UsageException("give either -f FILE or one KIND/NAME");
      }
      Duration bound = RolloutWait.parse(wait);
      if (resource != null) {
        ServerClient client = root.client();
        long started = System.nanoTime();
        ServerClient.Reply reply = client.delete("/apis/" + key(resource, namespace));
        return report(root, client, new Sent(resource, reply, started), "deleted", bound, System.nanoTime() + bound.toNanos());
      }
      return send(root, files, "/apis/delete", "deleted", bound);
    }
  }

  @Command(name = "get", description = "List the resources in force: all, one kind, or one resource.")
  static final class Get implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Parameters(index = "0", arity = "0..1", paramLabel = "KIND", description = "VirtualService, vs, DestinationRule, dr…")
    String kind;

    @Parameters(index = "1", arity = "0..1", paramLabel = "NAME")
    String name;

    @Option(names = {"-n", "--namespace"}, description = "only this namespace")
    String namespace;

    @Override
    public Integer call() {
      String wanted = kind == null ? null : kindName(kind);
      List<JsonNode> found = new ArrayList<>();
      for (JsonNode resource : root.client().get("/apis/resources")) {
        if ((wanted == null || resource.path("kind").asText().equals(wanted))
            && (name == null || resource.path("name").asText().equals(name))
            && (namespace == null || resource.path("namespace").asText().equals(namespace))) {
          found.add(resource);
        }
      }
      if (name != null && found.isEmpty()) {
        root.err().println("meshctl get: no " + wanted + " named " + name + (namespace == null ? "" : " in " + namespace));
        return Meshctl.FINDINGS;
      }
      if (root.output == Meshctl.Format.yaml) {
        // the documents as the user wrote them, ready to apply again
        root.out().print(String.join("---\n", found.stream().map(r -> r.path("yaml").asText()).toList()));
        return Meshctl.OK;
      }
      if (!Printer.structured(root.output, found, root.out())) {
        Printer.table(root.out(), List.of("KIND", "NAMESPACE", "NAME", "SOURCE"), found.stream()
            .map(r -> List.of(r.path("kind").asText(), r.path("namespace").asText(), r.path("name").asText(),
                r.path("source").asText()))
            .toList());
      }
      return Meshctl.OK;
    }
  }

  @Command(name = "describe", description = "One resource: its YAML, its problems and findings, and what it affects.")
  static final class Describe implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Parameters(paramLabel = "KIND/NAME", description = "VirtualService/reviews or Kind/namespace/name")
    String resource;

    @Option(names = {"-n", "--namespace"}, defaultValue = "default")
    String namespace;

    @Override
    public Integer call() {
      JsonNode description = root.client().get("/apis/describe/" + key(resource, namespace));
      if (Printer.structured(root.output, description, root.out())) {
        return Meshctl.OK;
      }
      var out = root.out();
      out.println("Name:       " + description.path("name").asText());
      out.println("Namespace:  " + description.path("namespace").asText());
      out.println("Kind:       " + description.path("kind").asText() + " (" + description.path("apiVersion").asText() + ")");
      out.println("Source:     " + description.path("source").asText());
      section(out, "Problems", description.path("problems"));
      List<String> findings = new ArrayList<>();
      description.path("findings").forEach(f -> findings.add(f.path("severity").asText() + " [" + f.path("code").asText()
          + "] " + (f.path("field").asText().isEmpty() ? "" : f.path("field").asText() + ": ") + f.path("message").asText()));
      section(out, "Findings", findings);
      JsonNode affects = description.path("affects");
      section(out, "Routes", affects.path("routes"));
      section(out, "Clusters", affects.path("clusters"));
      section(out, "Selects", affects.path("workloads"));
      out.println("Spec:");
      description.path("yaml").asText().lines().forEach(line -> out.println("  " + line));
      return Meshctl.OK;
    }

    private static void section(java.io.PrintStream out, String title, JsonNode lines) {
      List<String> list = new ArrayList<>();
      lines.forEach(line -> list.add(line.asText()));
      section(out, title, list);
    }

    private static void section(java.io.PrintStream out, String title, List<String> lines) {
      out.println(title + ":" + (lines.isEmpty() ? " <none>" : ""));
      lines.forEach(line -> out.println("  " + line));
    }
  }

  /** One file or resource sent, its answer, and when it was sent. */
  private record Sent(String what, ServerClient.Reply reply, long startedNanos) {}

  /**
   * Sends each file after validating it here; stops at the first file with errors. Then, unless
   * {@code wait} is zero, waits for each change to reach the clients, all within {@code wait}.
   */
  private static int send(Meshctl root, List<Path> paths, String endpoint, String verb, Duration wait) throws IOException {
    List<Path> files = ConfigFiles.expand(paths);
    if (files.isEmpty()) {
      throw new Meshctl.UsageException("no *.yaml or *.yml file in " + paths);
    }
    ConfigParser parser = ConfigParser.defaults();
    ServerClient client = root.client();
    List<Sent> sent = new ArrayList<>();
    int status = Meshctl.OK;
    for (Path file : files) {
      if (!Files.isReadable(file)) {
        root.err().println(file + ": cannot read the file");
        return Meshctl.FINDINGS;
      }
      String yaml = Files.readString(file, StandardCharsets.UTF_8);
      ParseResult parsed = parser.parse(file.toString(), yaml);
      if (parsed.hasErrors()) {
        parsed.errors().forEach(problem -> root.err().println(problem));
        root.err().println("meshctl: " + file + " not sent: " + parsed.errors().size() + " error(s)");
        status = Meshctl.FINDINGS;
        break;
      }
      long started = System.nanoTime();
      sent.add(new Sent(file.toString(), client.postYaml(endpoint, yaml), started));
    }
    long deadline = System.nanoTime() + wait.toNanos();
    for (Sent one : sent) {
      status = Math.max(status, report(root, client, one, verb, wait, deadline));
    }
    return status;
  }

  /**
   * Prints what the server did with one file or resource: changed resources, warnings, errors; then
   * how far the change reached the clients, once they answered or the wait ran out.
   */
  private static int report(Meshctl root, ServerClient client, Sent sent, String verb, Duration wait, long deadline) {
    ServerClient.Reply reply = sent.reply();
    String what = sent.what();
    JsonNode body = reply.body();
    boolean structured = root.output != Meshctl.Format.table;
    if (structured) {
      int status = reply.status() < 400 ? rollout(root, client, sent, wait, deadline, body) : Meshctl.FINDINGS;
      Printer.structured(root.output, body, root.out());
      return status;
    }
    if (reply.status() >= 400) {
      List<String> errors = new ArrayList<>();
      body.path("errors").forEach(e -> errors.add(e.asText().replaceFirst("^request: ", what + ": ")));
      if (errors.isEmpty()) {
        errors.add(what + ": " + body.path("error").asText(body.toString()));
      }
      errors.forEach(root.err()::println);
      return Meshctl.FINDINGS;
    }
    List<String> changed = new ArrayList<>();
    body.path("changed").forEach(c -> changed.add(c.asText()));
    root.out().println(what + ": " + (changed.isEmpty() ? "unchanged" : verb + " " + String.join(", ", changed)));
    body.path("warnings").forEach(w -> root.err().println(w.asText().replaceFirst("^warning: request: ", "warning: " + what + ": ")));
    return rollout(root, client, sent, wait, deadline, body);
  }

  /**
   * Waits for the change the answer numbers ({@code generation}) to reach the clients; prints the
   * outcome for people, or adds it to {@code body} as {@code rollout} for scripts.
   */
  private static int rollout(Meshctl root, ServerClient client, Sent sent, Duration wait, long deadline, JsonNode body) {
    JsonNode generation = body.path("generation");
    if (wait.isZero() || !generation.canConvertToLong()) {
      return Meshctl.OK;
    }
    RolloutWait.Result result = RolloutWait.await(client, sent.what(), generation.asLong(), sent.startedNanos(), deadline,
        wait);
    if (body instanceof com.fasterxml.jackson.databind.node.ObjectNode object) {
      object.set("rollout", result.rollout());
    }
    if (root.output == Meshctl.Format.table) {
      result.out().forEach(root.out()::println);
    }
    result.err().forEach(root.err()::println);
    return result.exitCode();
  }

  private static final Map<String, String> SHORT_NAMES = new LinkedHashMap<>();

  static {
    for (String kind : List.of("VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry", "Gateway",
        "PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication")) {
      SHORT_NAMES.put(kind.toLowerCase(Locale.ROOT), kind);
      SHORT_NAMES.put(kind.toLowerCase(Locale.ROOT) + "s", kind);
    }
    SHORT_NAMES.putAll(Map.of("vs", "VirtualService", "dr", "DestinationRule", "se", "ServiceEntry",
        "we", "WorkloadEntry", "gw", "Gateway", "pa", "PeerAuthentication", "ap", "AuthorizationPolicy",
        "ra", "RequestAuthentication"));
  }

  /** {@code vs}, {@code virtualservices} or {@code VirtualService} → {@code VirtualService}. */
  static String kindName(String kind) {
    String found = SHORT_NAMES.get(kind.toLowerCase(Locale.ROOT));
    if (found == null) {
      throw new Meshctl.UsageException("unknown kind '" + kind + "'; known: " + String.join(", ", SHORT_NAMES.keySet()));
    }
    return found;
  }

  /** {@code vs/reviews} with {@code -n ns}, or {@code Kind/ns/name}, as the API's path. */
  static String key(String text, String namespace) {
    String[] parts = text.split("/");
    if (parts.length == 2) {
      return new ResourceKey(kindName(parts[0]), namespace, parts[1]).toString();
    }
    if (parts.length == 3) {
      return new ResourceKey(kindName(parts[0]), parts[1], parts[2]).toString();
    }
    throw new Meshctl.UsageException("expected KIND/NAME or KIND/NAMESPACE/NAME, got '" + text + "'");
  }
}
