package dev.inmesh.control.analyze;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Config read from files, as {@code meshctl analyze DIR} and {@code validate} read it: every
 * {@code *.yaml}/{@code *.yml} under the given paths, the resources that passed validation and
 * every problem, each naming its file.
 */
public record ConfigFiles(List<Path> files, List<ConfigResource> resources, List<Problem> problems) {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  public ConfigFiles {
    files = List.copyOf(files);
    resources = List.copyOf(resources);
    problems = List.copyOf(problems);
  }

  public static ConfigFiles read(List<Path> paths) throws IOException {
    List<ConfigResource> resources = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    List<Path> files = expand(paths);
    ConfigParser parser = ConfigParser.defaults();
    for (Path file : files) {
      if (!Files.isReadable(file)) {
        problems.add(new Problem(Problem.Severity.ERROR, file.toString(), "", "", "cannot read the file"));
        continue;
      }
      ParseResult result = parser.parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
      resources.addAll(result.resources());
      problems.addAll(result.problems());
    }
    return new ConfigFiles(files, resources, problems);
  }

  /** The YAML files under each path; a file is taken as it is, whatever its name. */
  public static List<Path> expand(List<Path> paths) throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().forEach(files::add);
        }
      } else {
        files.add(path);
      }
    }
    return files;
  }

  /**
   * Workloads from a registry file in the shape {@code GET /debug/registry} answers (JSON or
   * YAML): a list of {@code {service, namespace, address, ports: ["http:9080->8080"], labels}}.
   */
  public static List<Workload> registry(Path file) throws IOException {
    JsonNode root = YAML.readTree(Files.readString(file, StandardCharsets.UTF_8));
    if (root == null || !root.isArray()) {
      throw new IOException(file + ": a registry file is a list of workloads, as GET /debug/registry answers");
    }
    List<Workload> workloads = new ArrayList<>();
    int index = 0;
    for (JsonNode entry : root) {
      String where = file + ": [" + index++ + "]";
      String service = entry.path("service").asText("");
      if (service.isEmpty()) {
        throw new IOException(where + ".service: required");
      }
      List<ServicePort> ports = new ArrayList<>();
      for (JsonNode port : entry.path("ports")) {
        ports.add(port(where + ".ports", port.asText()));
      }
      Map<String, String> labels = new LinkedHashMap<>();
      entry.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
      String namespace = entry.path("namespace").asText("default");
      try {
        WorkloadMetadata metadata = new WorkloadMetadata(service, namespace, entry.path("serviceAccount").asText(null),
            null, labels, entry.path("address").asText("127.0.0.1"), ports, Locality.parse(entry.path("locality").asText("")));
        workloads.add(new Workload(entry.path("node").asText(service + "~" + index), metadata, Instant.EPOCH));
      } catch (IllegalArgumentException e) {
        throw new IOException(where + ": " + e.getMessage(), e);
      }
    }
    return workloads;
  }

  /** {@code name:port->targetPort}, {@code name:port} or {@code port}. */
  private static ServicePort port(String where, String text) throws IOException {
    try {
      String name = text.contains(":") ? text.substring(0, text.indexOf(':')) : "http";
      String numbers = text.contains(":") ? text.substring(text.indexOf(':') + 1) : text;
      String[] parts = numbers.split("->");
      int port = Integer.parseInt(parts[0].trim());
      int target = parts.length > 1 ? Integer.parseInt(parts[1].trim()) : port;
      return new ServicePort(name, port, target, "HTTP");
    } catch (NumberFormatException e) {
      throw new IOException(where + ": expected name:port->targetPort, got '" + text + "'");
    }
  }
}
