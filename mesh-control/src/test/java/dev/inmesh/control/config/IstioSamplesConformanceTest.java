package dev.inmesh.control.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Held-out acceptance against Istio's own config: every document Istio accepts must parse without
 * errors, and every document Istio's CRD validation rejects must be rejected. The samples live in
 * {@code shared/istio-samples} beside the repository (they are Istio's files, not ours, so they are
 * not copied into the tree); without them the test is skipped.
 */
class IstioSamplesConformanceTest {
  private static final List<String> ACCEPTED = List.of(
      "validation-crds/*-valid.yaml", "validation-dataset/*.yaml", "bookinfo-networking/*.yaml",
      "security/*.yaml", "istio-io-docs/*.yaml", "authz-builder-oracle/http/*-in.yaml");
  private static final List<String> REJECTED = List.of("validation-crds/*-invalid.yaml");
  private static final Pattern SEPARATOR = Pattern.compile("(?m)^---[ \\t]*$");
  private static final Pattern EXPECTED_ERROR = Pattern.compile("(?m)^_err:\\s*(.*)$");
  private static final Pattern KIND = Pattern.compile("(?m)^kind:\\s*\"?([A-Za-z]+)");
  private static final Pattern NAME = Pattern.compile("(?m)^metadata:\\s*\\n(?:[ \\t]+\\S.*\\n)*?[ \\t]+name:\\s*\"?([^\"\\s]+)");

  /** One YAML document of a samples file; {@code expectedError} is Istio's {@code _err} hint, if any. */
  record Document(String name, String yaml, String expectedError) {
    @Override
    public String toString() {
      return name;
    }
  }

  @BeforeAll
  static void samplesArePresent() {
    Assumptions.assumeTrue(dev.inmesh.testing.IstioSamples.root().isPresent(), "shared/istio-samples not found beside the repository");
  }

  static Stream<Arguments> acceptedDocuments() {
    return documents(ACCEPTED).map(Arguments::of);
  }

  static Stream<Arguments> rejectedDocuments() {
    return documents(REJECTED).map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("acceptedDocuments")
  void acceptsWhatIstioAccepts(Document document) {
    ParseResult result = ConfigParser.defaults().parse(document.name(), document.yaml());

    assertThat(result.errors()).as("errors for %s", document.name()).isEmpty();
    assertThat(result.resources()).as("resources read from %s", document.name()).hasSize(1);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejectedDocuments")
  void rejectsWhatIstioRejects(Document document) {
    ParseResult result = ConfigParser.defaults().parse(document.name(), document.yaml());

    assertThat(result.errors())
        .as("%s must be rejected; Istio says: %s; warnings were %s", document.name(), document.expectedError(),
            result.warnings())
        .isNotEmpty();
    assertThat(result.resources()).isEmpty();
  }

  private static Stream<Document> documents(List<String> globs) {
    Optional<Path> root = dev.inmesh.testing.IstioSamples.root();
    Assumptions.assumeTrue(root.isPresent(), "shared/istio-samples not found beside the repository");
    List<Document> documents = new ArrayList<>();
    for (String glob : globs) {
      Path dir = root.get().resolve(glob.substring(0, glob.lastIndexOf('/')));
      String pattern = glob.substring(glob.lastIndexOf('/') + 1);
      for (Path file : files(dir, pattern)) {
        documents.addAll(split(root.get().relativize(file).toString().replace('\\', '/'), read(file)));
      }
    }
    return documents.stream();
  }

  /**
   * Splits a multi-document file so that each document is judged (and reported) alone. A document
   * of comments only, such as a test case Istio commented out, is not a document.
   */
  static List<Document> split(String fileName, String text) {
    List<Document> documents = new ArrayList<>();
    String[] parts = SEPARATOR.split(text, -1);
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      boolean hasContent = part.lines().anyMatch(line -> !line.isBlank() && !line.stripLeading().startsWith("#"));
      if (!hasContent) {
        continue;
      }
      Matcher expected = EXPECTED_ERROR.matcher(part);
      String expectedError = expected.find() ? expected.group(1) : "";
      String yaml = EXPECTED_ERROR.matcher(part).replaceAll("");
      documents.add(new Document(fileName + " #" + (i + 1) + " " + describe(yaml), yaml, expectedError));
    }
    return documents;
  }

  private static String describe(String yaml) {
    Matcher kind = KIND.matcher(yaml);
    Matcher name = NAME.matcher(yaml);
    return (kind.find() ? kind.group(1) : "?") + "/" + (name.find() ? name.group(1) : "?");
  }


  private static List<Path> files(Path dir, String pattern) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> list = Files.list(dir)) {
      var matcher = dir.getFileSystem().getPathMatcher("glob:" + pattern);
      return list.filter(path -> matcher.matches(path.getFileName())).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
