package dev.inmesh.control.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads multi-document Istio YAML, exactly as Istio's docs and samples write it, into validated
 * resources. Every problem names the source, the resource (kind/namespace/name) and the field.
 * It never throws for bad input.
 */
public final class ConfigParser {
  private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build());
  private static final Set<String> METADATA_FIELDS = Set.of(
      "name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
      "creationTimestamp", "generateName", "managedFields", "finalizers", "ownerReferences");

  private final String defaultNamespace;

  public ConfigParser(String defaultNamespace) {
    this.defaultNamespace = defaultNamespace;
  }

  public static ConfigParser defaults() {
    return new ConfigParser("default");
  }

  public ParseResult parse(String source, String text) {
    List<ConfigResource> resources = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    List<JsonNode> documents;
    try {
      documents = readDocuments(text);
    } catch (JsonProcessingException e) {
      String where = where(e);
      problems.add(new Problem(Problem.Severity.ERROR, source, "", where, "malformed YAML: " + e.getOriginalMessage()));
      return new ParseResult(List.of(), problems);
    }
    Set<ResourceKey> seen = new HashSet<>();
    for (int i = 0; i < documents.size(); i++) {
      JsonNode document = documents.get(i);
      String docSource = documents.size() > 1 ? source + " (document " + (i + 1) + ")" : source;
      Diagnostics diagnostics = new Diagnostics(docSource);
      Optional<ConfigResource> resource = parseDocument(document, source, diagnostics);
      problems.addAll(diagnostics.problems());
      if (resource.isPresent() && !diagnostics.hasErrors()) {
        if (!seen.add(resource.get().key())) {
          problems.add(new Problem(Problem.Severity.ERROR, docSource, resource.get().key().toString(), "metadata.name",
              "defined more than once in " + source));
        } else {
          resources.add(resource.get());
        }
      }
    }
    return new ParseResult(resources, problems);
  }

  /** SnakeYAML's own mark is exact where Jackson's location can name the token before it (a tab, say). */
  private static String where(JsonProcessingException e) {
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException marked && marked.getProblemMark() != null) {
      return "line " + (marked.getProblemMark().getLine() + 1) + ", column " + (marked.getProblemMark().getColumn() + 1);
    }
    JsonLocation at = e.getLocation();
    return at == null ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr();
  }

  private static List<JsonNode> readDocuments(String text) throws JsonProcessingException {
    List<JsonNode> documents = new ArrayList<>();
    try (MappingIterator<JsonNode> iterator = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (iterator.hasNextValue()) {
        JsonNode document = iterator.nextValue();
        if (document != null && !document.isNull() && !document.isMissingNode()
            && !(document.isTextual() && document.asText().isBlank())) {
          documents.add(document);
        }
      }
    } catch (JsonProcessingException e) {
      throw e;
    } catch (IOException e) {
      throw new IllegalStateException("reading from a string failed", e);
    } catch (RuntimeException e) {
      // MappingIterator wraps parse errors in RuntimeJsonMappingException
      if (e.getCause() instanceof JsonProcessingException cause) {
        throw cause;
      }
      throw e;
    }
    return documents;
  }

  private Optional<ConfigResource> parseDocument(JsonNode document, String source, Diagnostics diagnostics) {
    if (!document.isObject()) {
      diagnostics.error("", "a document must be a YAML mapping with apiVersion, kind, metadata and spec");
      return Optional.empty();
    }
    SpecReader top = new SpecReader(document, "", diagnostics);
    String apiVersion = top.string("apiVersion").orElse("");
    String kindName = top.string("kind").orElse("");
    Map<String, String> labels = new LinkedHashMap<>();
    Map<String, String> annotations = new LinkedHashMap<>();
    String name = "";
    String namespace = defaultNamespace;
    Optional<SpecReader> metadata = top.object("metadata");
    if (metadata.isPresent()) {
      SpecReader meta = metadata.get();
      name = meta.string("name").orElse("");
      namespace = meta.string("namespace").filter(ns -> !ns.isEmpty()).orElse(defaultNamespace);
      labels.putAll(meta.stringMap("labels"));
      annotations.putAll(meta.stringMap("annotations"));
      meta.skip(METADATA_FIELDS.toArray(String[]::new));
      meta.finish();
    }
    String label = (kindName.isEmpty() ? "?" : kindName) + "/" + namespace + "/" + (name.isEmpty() ? "?" : name);
    diagnostics.resource(label);
    if (kindName.isEmpty()) {
      diagnostics.error("kind", "is required");
      return Optional.empty();
    }
    if (name.isEmpty()) {
      diagnostics.error("metadata.name", "is required");
    } else if (!name.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?") || name.length() > 253) {
      diagnostics.error("metadata.name", "must be a lowercase DNS-1123 name, got '" + name + "'");
    }
    if (!namespace.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
      diagnostics.error("metadata.namespace", "must be a DNS-1123 label, got '" + namespace + "'");
    }
    String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
    String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
    Optional<Kinds.Kind> kind = Kinds.find(kindName);
    if (kind.isEmpty()) {
      if (Kinds.isOtherIstioKind(kindName) || !group.endsWith("istio.io")) {
        diagnostics.warn("kind", "Inmesh does not read " + kindName + " (" + apiVersion + "); the resource is ignored");
      } else {
        diagnostics.error("kind", "unknown kind '" + kindName + "' in " + group);
      }
      return Optional.empty();
    }
    if (!kind.get().group().equals(group) || !kind.get().versions().contains(version)) {
      diagnostics.error("apiVersion", kindName + " is served at "
          + kind.get().versions().stream().map(v -> kind.get().group() + "/" + v).toList() + ", got '" + apiVersion + "'");
    }
    top.skip("status");
    Optional<SpecReader> spec = top.object("spec");
    top.finish();
    if (spec.isEmpty()) {
      if (!top.has("spec")) {
        diagnostics.error("spec", "Required value");
      }
      return Optional.empty();
    }
    IstioSpec parsed = kind.get().parser().parse(spec.get(), namespace);
    spec.get().finish();
    if (diagnostics.hasErrors()) {
      return Optional.empty();
    }
    return Optional.of(new ConfigResource(new ResourceKey(kindName, namespace, name), apiVersion, source,
        labels, annotations, parsed, toYaml(document)));
  }

  public static String toYaml(JsonNode node) {
    try {
      return YAML.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed document always writes back", e);
    }
  }
}
