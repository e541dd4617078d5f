package dev.inmesh.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.explain.ExplainRequest;
import dev.inmesh.spi.CallOptions;
import dev.inmesh.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * meshctl against a real mesh-control on loopback, with real backends that register themselves and
 * a real Inmesh client whose own outbound pipeline sends the requests: status shows a NACK soon
 * after a bad push, and explain agrees with what the client did.
 */
class MeshctlIT {
  private static final Logger log = LoggerFactory.getLogger(MeshctlIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: reviews
      spec:
        host: reviews
        subsets:
        - name: v1
          labels:
            version: v1
        - name: v2
          labels:
            version: v2
      """;
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: reviews
      spec:
        hosts: [reviews]
        http:
        - name: jason
          match:
          - headers:
              end-user:
                exact: jason
          route:
          - destination: {host: reviews, subset: v2}
        - name: health
          match:
          - uri: {exact: /health}
          directResponse:
            status: 200
            body:
              string: healthy
        - name: moved
          match:
          - uri: {prefix: /old}
          redirect:
            uri: /new
            redirectCode: 301
        - name: numbered
          match:
          - uri: {regex: "/reviews/[0-9]+"}
            method: {exact: GET}
          route:
          - destination: {host: reviews, subset: v1}
        - name: writes
          match:
          - uri: {prefix: /reviews}
            method: {exact: POST}
          route:
          - destination: {host: reviews, subset: v2}
        - name: flaky
          match:
          - uri: {prefix: /flaky}
          fault:
            abort:
              httpStatus: 503
              percentage: {value: 100}
          route:
          - destination: {host: reviews, subset: v1}
        - name: canary
          match:
          - uri: {prefix: /api}
          route:
          - destination: {host: reviews, subset: v1}
            weight: 70
          - destination: {host: reviews, subset: v2}
            weight: 30
        - name: debug
          match:
          - queryParams:
              debug: {exact: "1"}
          route:
          - destination: {host: reviews, subset: v2}
        - name: rest
          match:
          - uri: {prefix: /reviews}
          route:
          - destination: {host: reviews}
      """;

  @TempDir
  Path configDir;
  MeshControl control;
  final List<AutoCloseable> closeables = new ArrayList<>();
  Mesh client;

  @BeforeEach
  void startMesh() throws Exception {
    control = MeshControl.start(MeshControlOptions.ephemeral().withConfigDir(configDir)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)));
    String xds = "127.0.0.1:" + control.xdsPort();
    closeables.add(new HttpBackends.Backend(control, "reviews", 9080, "v1"));
    closeables.add(new HttpBackends.Backend(control, "reviews", 9080, "v2"));
    Await.until(() -> control.workloads().size() == 2, Duration.ofSeconds(10), "two reviews workloads");
    write("reviews-dr.yaml", DESTINATION_RULE);
    write("reviews-vs.yaml", VIRTUAL_SERVICE);
    client = HttpBackends.withIdentity(Mesh.builder().controlServers(xds), control, "productpage").build();
    closeables.add(client);
    client.awaitReady(Duration.ofSeconds(10));
    Await.until(control::converged, Duration.ofSeconds(15), "every client to ACK the config");
  }

  @AfterEach
  void stopMesh() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    control.close();
  }

  @Test
  void explainAgreesWithWhatTheClientDidForTenRequestsOfDifferentShapes() throws Exception {
    record Case(String method, String url, List<String> headers) {}
    List<Case> cases = List.of(
        new Case("GET", "http://reviews:9080/reviews/1", List.of("end-user: jason")),   // header → v2
        new Case("GET", "http://reviews:9080/health", List.of()),                       // direct response
        new Case("GET", "http://reviews:9080/old/page", List.of()),                     // redirect
        new Case("GET", "http://reviews:9080/reviews/42", List.of()),                   // regex and method → v1
        new Case("POST", "http://reviews:9080/reviews/new", List.of()),                 // method → v2
        new Case("GET", "http://reviews:9080/flaky", List.of()),                        // fault abort
        new Case("GET", "http://reviews:9080/api/list", List.of()),                     // weights with subsets
        new Case("GET", "http://reviews:9080/search?debug=1", List.of()),               // query parameter → v2
        new Case("GET", "http://reviews:9080/reviews/abc", List.of()),                  // prefix, whole service
        new Case("GET", "http://reviews:9080/nowhere", List.of()),                      // no route → 404
        new Case("GET", "http://example.com:80/outside", List.of()));                   // not a mesh host

    for (Case c : cases) {
      ExplainRequest request = ExplainRequest.parse(c.method(), c.url(), c.headers());
      HttpBackends.Answer answer = client.outbound().execute(request, new HttpBackends.JdkTransport(request.method()),
          new CallOptions(Optional.empty(), Optional.empty(), true));
      List<String> args = new ArrayList<>(List.of("explain", "client~", c.method(), c.url(), "-o", "json"));
      c.headers().forEach(h -> args.addAll(List.of("-H", h)));
      Run run = meshctl(args.toArray(String[]::new));
      assertThat(run.status()).as(run.err()).isZero();
      JsonNode explained = JSON.readTree(run.out());
      log.info("{} → client: {} {} [{}]; explain: {} route={} clusters={}", request, answer.status(), answer.body(),
          answer.headers().get("x-inmesh-explain"), explained.path("outcome").asText(), explained.path("route").asText(),
          explained.path("clusters").findValuesAsText("cluster"));

      String outcome = explained.path("outcome").asText();
      if (outcome.equals("pass-through")) {
        assertThat(answer.body()).as(c.url()).isEqualTo("pass-through");
        continue;
      }
      assertThat(answer.explained("route").orElse("-")).as("route of " + c.url())
          .isEqualTo(explained.path("route").asText("-").isEmpty() ? "-" : explained.path("route").asText("-"));
      switch (outcome) {
        case "forward" -> {
          List<String> clusters = explained.path("clusters").findValuesAsText("cluster");
          assertThat(clusters).as("clusters for " + c.url()).contains(answer.explained("cluster").orElseThrow());
          boolean faulted = explained.path("policies").toString().contains("abort HTTP 503");
          if (faulted) {
            assertThat(answer.status()).isEqualTo(503);
            assertThat(answer.explained("fault")).hasValue("abort 503");
          } else {
            assertThat(answer.status()).as(c.url()).isEqualTo(200);
            String subset = answer.explained("subset").orElseThrow();
            assertThat(answer.body()).startsWith(subset.equals("-") ? "v" : subset);
          }
        }
        case "redirect", "direct-response", "no-route" ->
            assertThat(answer.status()).as("status of " + c.url()).isEqualTo(explained.path("status").asInt());
        default -> throw new AssertionError("unexpected outcome " + outcome);
      }
    }

    // the routes passed over say why: the first request for /nowhere fails the jason route on its header
    Run nowhere = meshctl("explain", "client~", "http://reviews:9080/nowhere");
    assertThat(nowhere.out()).contains("jason: header end-user does not match exact jason")
        .contains("numbered: path /nowhere does not match regex /reviews/[0-9]+")
        .contains("Outcome:   no-route 404");
  }

  @Test
  void aFileClientsWouldNackIsRefusedBeforeAnyClientSeesItAndExplainStillUsesWhatTheClientHolds() throws Exception {
    Run before = meshctl("status", "-o", "json");
    JsonNode mine = clientEntry(JSON.readTree(before.out()));
    assertThat(mine.path("types").path("CDS").has("lastNack")).isFalse();

    // resolution NONE asks for an original-destination cluster, which needs a proxy: every client
    // would NACK it, so mesh-control refuses the file and says why
    Files.writeString(configDir.resolve("passthrough.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: legacy-passthrough
        spec:
          hosts: [legacy.example.com]
          ports:
          - number: 80
            name: http
          resolution: NONE
        """, StandardCharsets.UTF_8);
    control.rescan();

    assertThat(control.configStatus()).filteredOn(s -> s.source().endsWith("passthrough.yaml")).singleElement()
        .satisfies(status -> {
          assertThat(status.accepted()).isFalse();
          assertThat(status.problems()).anySatisfy(p -> {
            assertThat(p.resource()).isEqualTo("ServiceEntry/default/legacy-passthrough");
            assertThat(p.field()).isEqualTo("spec.resolution");
            assertThat(p.message()).contains("would NACK").contains("legacy.example.com");
          });
        });
    assertThat(control.resources()).noneMatch(r -> r.name().equals("legacy-passthrough"));
    JsonNode after = clientEntry(json(meshctl("status", "-o", "json").out()));
    assertThat(after.path("types").path("CDS").has("lastNack")).isFalse();

    JsonNode dump = JSON.readTree(meshctl("config-dump", "client~").out());
    assertThat(dump.path("clusters").findValuesAsText("name")).noneMatch(name -> name.contains("legacy.example.com"));
    JsonNode explained = JSON.readTree(meshctl("explain", "client~", "GET", "http://reviews:9080/reviews/7", "-o", "json").out());
    assertThat(explained.path("route").asText()).isEqualTo("numbered");
  }

  private static JsonNode clientEntry(JsonNode clients) {
    for (JsonNode client : clients) {
      if (client.path("node").asText().startsWith("client~")) {
        return client;
      }
    }
    throw new AssertionError("the Inmesh client is not in meshctl status: " + clients);
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  record Run(int status, String out, String err) {}

  private Run meshctl(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Meshctl.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        Map.of("MESHCTL_CREDENTIAL", control.adminCredentialFile().orElseThrow().toString()));
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private void write(String file, String yaml) throws Exception {
    Files.writeString(configDir.resolve(file), yaml, StandardCharsets.UTF_8);
    control.rescan();
  }
}
