package dev.inmesh.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.control.analyze.Analyzer;
import dev.inmesh.control.analyze.ConfigFiles;
import dev.inmesh.control.analyze.Finding;
import dev.inmesh.control.analyze.Severity;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.translate.HostResolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code meshctl analyze DIR...} (offline: the files, their ServiceEntries and WorkloadEntries, and
 * an optional registry file) or {@code meshctl analyze} against the live server. Exit 1 when a
 * finding reaches {@code --fail-threshold}, as {@code istioctl analyze} does.
 */
@Command(name = "analyze", description = "Find config that will not work as written (see docs/meshctl.md for every code).")
final class AnalyzeCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParentCommand
  Meshctl root;

  @Parameters(arity = "0..*", paramLabel = "FILE|DIR", description = "analyze these files offline; none: the live server")
  List<Path> paths = new ArrayList<>();

  @Option(names = "--registry", paramLabel = "FILE",
      description = "offline: workloads in the shape GET /debug/registry answers (JSON or YAML)")
  Path registry;

  @Option(names = "--fail-threshold", paramLabel = "LEVEL", defaultValue = "Error",
      description = "exit 1 at or above this level: Error, Warning or Info (default Error)")
  String failThreshold;

  @Option(names = "--output-threshold", paramLabel = "LEVEL", defaultValue = "Info",
      description = "show findings at or above this level (default Info)")
  String outputThreshold;

  @Override
  public Integer call() throws IOException {
    Severity fail = severity("--fail-threshold", failThreshold);
    Severity show = severity("--output-threshold", outputThreshold);
    List<Map<String, Object>> findings = paths.isEmpty() ? live() : offline();
    List<Map<String, Object>> shown = findings.stream()
        .filter(f -> Severity.parse((String) f.get("severity")).atLeast(show))
        .toList();
    if (!Printer.structured(root.output, shown, root.out())) {
      if (shown.isEmpty()) {
        root.out().println("✔ No validation issues found when analyzing " + (paths.isEmpty() ? root.serverUrl() : paths) + ".");
      }
      for (Map<String, Object> f : shown) {
        String field = (String) f.get("field");
        root.out().println(f.get("severity") + " [" + f.get("code") + "] (" + f.get("resource") + ") "
            + (field.isEmpty() ? "" : field + ": ") + f.get("message")
            + (((String) f.get("source")).isEmpty() ? "" : "  [" + f.get("source") + "]"));
      }
    }
    boolean failed = findings.stream().anyMatch(f -> Severity.parse((String) f.get("severity")).atLeast(fail));
    if (failed && root.output == Meshctl.Format.table) {
      root.err().println("Error: analyze found issues at or above " + fail.label() + ".");
    }
    return failed ? Meshctl.FINDINGS : Meshctl.OK;
  }

  private List<Map<String, Object>> offline() throws IOException {
    for (Path path : paths) {
      if (!Files.exists(path)) {
        throw new Meshctl.UsageException(path + " does not exist");
      }
    }
    if (registry != null && !Files.isReadable(registry)) {
      throw new Meshctl.UsageException("--registry " + registry + " cannot be read");
    }
    ConfigFiles files = ConfigFiles.read(paths);
    List<Workload> workloads = registry == null ? List.of() : ConfigFiles.registry(registry);
    // offline, a DNS ServiceEntry's endpoints are its names: enough to judge labels and subsets
    HostResolver names = host -> List.of(host);
    List<Map<String, Object>> findings = new ArrayList<>();
    for (Finding finding : Analyzer.analyze(files.resources(), workloads, files.problems(), names)) {
      findings.add(finding.toMap());
    }
    return findings;
  }

  private List<Map<String, Object>> live() {
    if (registry != null) {
      throw new Meshctl.UsageException("--registry is for offline analysis; the server uses its own registry");
    }
    JsonNode reply = root.client().get("/apis/analyze");
    List<Map<String, Object>> findings = new ArrayList<>();
    for (JsonNode finding : reply.path("findings")) {
      @SuppressWarnings("unchecked")
      Map<String, Object> entry = JSON.convertValue(finding, LinkedHashMap.class);
      findings.add(entry);
    }
    return findings;
  }

  private static Severity severity(String flag, String text) {
    try {
      return Severity.parse(text);
    } catch (IllegalArgumentException e) {
      throw new Meshctl.UsageException(flag + ": " + e.getMessage());
    }
  }
}
