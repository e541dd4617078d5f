package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The conformance harness: Bookinfo as the demo runs it (HTTP workloads on Inmesh's ADS client,
 * gRPC on grpc-java's), and every valid Istio document of {@code shared/istio-samples} applied
 * through the admin API, one at a time, then deleted again. After each apply and each delete it
 * waits, polling {@code GET /debug/clients}, until every connected client has ACKed or NACKed the
 * version it is now served. No client may NACK, and after each delete the product page must be
 * whole, read through the demo's ingress gateway. A document that redefines one of the demo's own
 * resources (Istio's {@code bookinfo-gateway.yaml} is the demo's Gateway and VirtualService) takes
 * them away with its delete; the demo's files are then applied again, as after a
 * {@code kubectl delete} of someone else's copy. A document mesh-control refuses at apply is
 * counted apart, with its reason.
 *
 * <p>Istio's files are not ours and are not in the tree: without {@code shared/istio-samples}
 * beside the repository (or {@code -Dinmesh.istio.samples}) the test is skipped.
 */
class IstioSamplesOnBookinfoIT {
  private static final Pattern SEPARATOR = Pattern.compile("(?m)^---[ \\t]*$");
  private static final Pattern INVALID_MARK = Pattern.compile("(?m)^_err:");
  private static final Pattern API_VERSION = Pattern.compile("(?m)^apiVersion:\\s*\"?([^\"\\s]+)");
  private static final Pattern KIND = Pattern.compile("(?m)^kind:\\s*\"?([A-Za-z]+)");
  private static final Pattern NAME = Pattern.compile("(?m)^metadata:\\s*\\n(?:[ \\t]+\\S.*\\n)*?[ \\t]+name:\\s*\"?([^\"\\s]+)");
  private static final Duration POLL = Duration.ofMillis(50);
  private static final Duration SETTLE = Duration.ofSeconds(30);
  private static final Duration PAGE_RECOVERY = Duration.ofSeconds(15);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The demo's own resources in the default namespace, as {@link #describe} names them, and their files. */
  private static final java.util.Set<String> DEMO_RESOURCES = java.util.Set.of("Gateway/bookinfo-gateway",
      "VirtualService/bookinfo", "Gateway/bookinfo-https-gateway", "VirtualService/bookinfo-https");
  private static final List<String> DEMO_FILES = List.of("bookinfo-gateway.yaml", "bookinfo-gateway-https.yaml");

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private URI admin;
  private String token;

  /** One YAML document of a samples file. */
  record Document(String name, String yaml) {}

  /** What became of one document. */
  record Outcome(Document document, Optional<String> refusal, List<String> nacks, Optional<String> brokenPage) {}

  @Test
  void everyValidIstioDocumentIsAppliedOrRefusedAndNoClientNacksAny() throws Exception {
    Optional<Path> samples = dev.inmesh.testing.IstioSamples.root();
    Assumptions.assumeTrue(samples.isPresent(), "shared/istio-samples not found beside the repository");
    List<Document> documents = documents(samples.get());
    assertThat(documents).as("valid Istio documents in %s", samples.get()).isNotEmpty();

    List<Outcome> outcomes = new ArrayList<>();
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      admin = URI.create("http://127.0.0.1:" + bookinfo.control().httpPort());
      token = bookinfo.control().adminCredential().orElseThrow().token();
      assertThat(pageProblem(bookinfo)).as("the product page before any document").isEmpty();
      for (Document document : documents) {
        outcomes.add(applyAndDelete(bookinfo, document));
      }
    }

    List<Outcome> refused = outcomes.stream().filter(o -> o.refusal().isPresent()).toList();
    List<Outcome> nacked = outcomes.stream().filter(o -> !o.nacks().isEmpty()).toList();
    List<Outcome> broken = outcomes.stream().filter(o -> o.brokenPage().isPresent()).toList();
    refused.forEach(o -> System.out.println("refused " + o.document().name() + ": " + o.refusal().get()));
    nacked.forEach(o -> System.out.println("NACKed " + o.document().name() + ": " + o.nacks()));
    broken.forEach(o -> System.out.println("page not whole after " + o.document().name() + ": " + o.brokenPage().get()));
    int nackCount = nacked.stream().mapToInt(o -> o.nacks().size()).sum();
    System.out.printf("Istio samples on Bookinfo: %d documents applied, %d refused, %d NACKs%n",
        outcomes.size() - refused.size(), refused.size(), nackCount);

    assertThat(nacked).as("documents some client NACKed").isEmpty();
    assertThat(broken).as("documents after whose delete the product page was not whole").isEmpty();
    assertThat(outcomes.size() - refused.size()).as("documents applied").isPositive();
  }

  private Outcome applyAndDelete(Bookinfo bookinfo, Document document) throws Exception {
    Map<String, String> nacksBefore = lastNacks();
    HttpResponse<String> applied = post("/apis/apply", document.yaml());
    JsonNode answer = JSON.readTree(applied.body());
    if (applied.statusCode() != 200) {
      assertThat(applied.statusCode()).as("%s: %s", document.name(), applied.body()).isEqualTo(400);
      List<String> errors = new ArrayList<>();
      answer.path("errors").forEach(e -> errors.add(e.asText()));
      assertThat(errors).as("the reason %s was refused", document.name()).isNotEmpty();
      return new Outcome(document, Optional.of(String.join("; ", errors)), List.of(), Optional.empty());
    }
    List<String> nacks = new ArrayList<>(settle(document, "apply", nacksBefore));
    Map<String, String> nacksAfterApply = lastNacks();
    HttpResponse<String> deleted = post("/apis/delete", document.yaml());
    assertThat(deleted.statusCode()).as("deleting %s: %s", document.name(), deleted.body()).isEqualTo(200);
    nacks.addAll(settle(document, "delete", nacksAfterApply));
    if (DEMO_RESOURCES.contains(describe(document.yaml()))) {
      DEMO_FILES.forEach(bookinfo::apply);
    }
    return new Outcome(document, Optional.empty(), nacks, wholeAgain(bookinfo, document));
  }

  /**
   * Waits a bounded while for the product page to be whole: a gRPC channel whose transport just
   * changed (mTLS to plaintext, say) reconnects after a backoff, as a sidecar's would drain.
   * Answers why it is still not whole, or empty.
   */
  private Optional<String> wholeAgain(Bookinfo bookinfo, Document document) throws Exception {
    Instant start = Instant.now();
    Instant deadline = start.plus(PAGE_RECOVERY);
    Optional<String> problem = pageProblem(bookinfo);
    while (problem.isPresent() && Instant.now().isBefore(deadline)) {
      Thread.sleep(POLL.toMillis() * 4);
      problem = pageProblem(bookinfo);
    }
    long millis = Duration.between(start, Instant.now()).toMillis();
    if (problem.isEmpty() && millis > POLL.toMillis() * 4) {
      System.out.println("the page was whole again " + millis + " ms after the delete of " + document.name());
    }
    return problem;
  }

  /**
   * Waits until every connected client holds, or has NACKed, the version it is served now, and
   * answers the NACKs that came since {@code before}.
   */
  private List<String> settle(Document document, String step, Map<String, String> before) throws Exception {
    Instant deadline = Instant.now().plus(SETTLE);
    while (true) {
      JsonNode clients = JSON.readTree(get("/debug/clients").body());
      List<String> waiting = new ArrayList<>();
      for (JsonNode client : clients) {
        client.path("types").fields().forEachRemaining(type -> {
          JsonNode t = type.getValue();
          String current = t.path("current").asText("");
          boolean acked = !current.isEmpty() && current.equals(t.path("acked").asText());
          boolean nacked = !current.isEmpty() && current.equals(t.path("lastNack").path("version").asText());
          if (!acked && !nacked) {
            waiting.add(client.path("node").asText() + " " + type.getKey());
          }
        });
      }
      if (waiting.isEmpty()) {
        List<String> nacks = new ArrayList<>();
        lastNacks().forEach((where, nack) -> {
          if (!nack.equals(before.get(where))) {
            nacks.add(step + ": " + where + ": " + nack);
          }
        });
        return nacks;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("after the " + step + " of " + document.name() + ", clients did not ACK or NACK within "
            + SETTLE + ": " + waiting);
      }
      Thread.sleep(POLL.toMillis());
    }
  }

  /** Each client's last NACK per type, by node and type, with when it came. */
  private Map<String, String> lastNacks() throws Exception {
    Map<String, String> nacks = new HashMap<>();
    for (JsonNode client : JSON.readTree(get("/debug/clients").body())) {
      client.path("types").fields().forEachRemaining(type -> {
        JsonNode nack = type.getValue().path("lastNack");
        if (!nack.isMissingNode()) {
          nacks.put(client.path("node").asText() + " " + type.getKey(),
              nack.path("at").asText() + " " + nack.path("error").asText());
        }
      });
    }
    return nacks;
  }

  /** Why the product page is not whole (details and reviews with ratings), or empty when it is. */
  private Optional<String> pageProblem(Bookinfo bookinfo) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(bookinfo.productPage())
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    Tour.Page page = Tour.Page.parse(response.body());
    boolean whole = response.statusCode() == 200 && page.details().equals("ok") && page.reviews().equals("ok")
        && !page.ratings().equals("unavailable");
    return whole ? Optional.empty() : Optional.of("HTTP " + response.statusCode() + ", details " + page.details()
        + ", reviews " + page.reviews() + ", ratings " + page.ratings());
  }

  private HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(admin.resolve(path)).header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/yaml").timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(admin.resolve(path)).header("Authorization", "Bearer " + token)
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Every valid Istio document under {@code root}, file by file in name order: not the
   * {@code *-invalid.yaml} files, not a document marked invalid ({@code _err}), and only Istio's
   * own kinds ({@code networking.istio.io}, {@code security.istio.io}), not Deployments or Services.
   */
  static List<Document> documents(Path root) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files = walk.filter(Files::isRegularFile)
          .filter(f -> f.getFileName().toString().endsWith(".yaml") && !f.getFileName().toString().endsWith("-invalid.yaml"))
          .sorted().toList();
    }
    List<Document> documents = new ArrayList<>();
    for (Path file : files) {
      String[] parts = SEPARATOR.split(Files.readString(file), -1);
      for (int i = 0; i < parts.length; i++) {
        String yaml = parts[i];
        Matcher apiVersion = API_VERSION.matcher(yaml);
        if (INVALID_MARK.matcher(yaml).find() || !apiVersion.find()
            || !apiVersion.group(1).matches("(networking|security)\\.istio\\.io/.*")) {
          continue;
        }
        documents.add(new Document(root.relativize(file).toString().replace('\\', '/') + " #" + (i + 1) + " " + describe(yaml), yaml));
      }
    }
    return documents;
  }

  private static String describe(String yaml) {
    Matcher kind = KIND.matcher(yaml);
    Matcher name = NAME.matcher(yaml);
    return (kind.find() ? kind.group(1) : "?") + "/" + (name.find() ? name.group(1) : "?");
  }
}
