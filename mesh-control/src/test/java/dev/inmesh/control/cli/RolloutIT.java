package dev.inmesh.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.XdsClients;
import dev.inmesh.control.xds.ClientStatus;
import dev.inmesh.testing.Await;
import io.grpc.ManagedChannel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meshctl apply} waits for the change to land, against a real mesh-control with real
 * clients: a reviews workload and a productpage client on Inmesh's own ADS client, and an
 * unmodified grpc-java xDS channel. A third-party client with a cluster limit NACKs; one that
 * never answers runs the wait out.
 */
class RolloutIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path configDir;
  @TempDir
  Path files;
  MeshControl control;
  final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void startMesh() throws Exception {
    control = MeshControl.start(MeshControlOptions.ephemeral().withConfigDir(configDir)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100)).withXdsReadOnlyPort(0));
    closeables.add(new HttpBackends.Backend(control, "reviews", 9080, "v1"));
    Mesh productpage = HttpBackends.withIdentity(Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()), control,
        "productpage").build();
    closeables.add(productpage);
    productpage.awaitReady(Duration.ofSeconds(10));
    ManagedChannel grpc = XdsClients.channel(readOnly(), "grpc-client", "default", "reviews:9080");
    closeables.add(() -> {
      grpc.shutdownNow();
      grpc.awaitTermination(5, TimeUnit.SECONDS);
    });
    grpc.getState(true);
    awaitClustersAcked(3);
  }

  @AfterEach
  void stopMesh() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    control.close();
  }

  @Test
  void applyWaitsUntilEveryClientItAffectsAckedAndSaysHowMany() throws Exception {
    Run applied = meshctl("apply", "-f", file("reviews-dr.yaml", destinationRule("v1")).toString());

    assertThat(applied.status()).as(applied.err()).isZero();
    assertThat(applied.out()).containsPattern("reviews-dr.yaml: 3 of 3 clients ACKed generation \\d+ in \\d+\\.\\d s");

    JsonNode answer = JSON.readTree(meshctl("apply", "-f", file("reviews-dr.yaml", destinationRule("v1", "v2")).toString(),
        "-o", "json").out());
    JsonNode rollout = answer.path("rollout");
    assertThat(rollout.path("generation").asLong()).isEqualTo(answer.path("generation").asLong()).isPositive();
    assertThat(rollout.path("settled").asBoolean()).isTrue();
    Set<String> kinds = new HashSet<>();
    for (JsonNode client : rollout.path("clients")) {
      kinds.add(client.path("kind").asText());
      assertThat(client.path("state").asText()).as(client.toString()).isEqualTo("acked");
      // the version the rollout names is the one the client itself reports holding
      ClientStatus status = control.xds().client(client.path("node").asText());
      assertThat(status.types().get("CDS").ackedVersion()).isEqualTo(client.path("versions").path("CDS").asText());
    }
    assertThat(kinds).containsExactlyInAnyOrder("inmesh", "grpc");

    Run deleted = meshctl("delete", "dr/reviews");
    assertThat(deleted.status()).as(deleted.err()).isZero();
    assertThat(deleted.out()).contains("deleted DestinationRule/default/reviews").containsPattern("3 of 3 clients ACKed");
  }

  @Test
  void anApplyThatAClientNacksExitsNonZeroNamingTheClientAndItsReason() throws Exception {
    closeables.add(LimitedAdsClient.withClusterLimit(readOnly(), "limited-client"));
    awaitClustersAcked(4);

    Run applied = meshctl("apply", "-f", file("reviews-dr.yaml", destinationRule("v1", "v2")).toString());

    assertThat(applied.status()).as(applied.out() + applied.err()).isEqualTo(Meshctl.NACKED);
    assertThat(applied.err())
        .contains("client limited-client (namespace default, grpc) NACKed CDS")
        .contains("this client holds at most")
        .containsPattern("1 of 4 clients NACKed generation \\d+ \\(3 of 4 clients ACKed");
    assertThat(applied.out()).contains("applied DestinationRule/default/reviews");
  }

  @Test
  void theDashboardShowsTheLatestApplyWithTheNackingClientAndItsReason() throws Exception {
    dev.inmesh.testing.Chromium chromium = dev.inmesh.testing.Chromium.find().orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(chromium != null, "no Chromium on this machine; .ci/run installs Debian's chromium");
    closeables.add(LimitedAdsClient.withClusterLimit(readOnly(), "limited-client"));
    awaitClustersAcked(4);
    assertThat(meshctl("apply", "-f", file("reviews-dr.yaml", destinationRule("v1", "v2")).toString()).status())
        .isEqualTo(Meshctl.NACKED);

    String page = "http://127.0.0.1:" + control.httpPort() + "/dashboard";
    assertThat(chromium.dumpDom(page, 1280, 1500)).as("without a credential the page shows nothing of the rollout")
        .doesNotContain("limited-client").contains("<div id=\"rollout\">no change applied");
    String dom = chromium.dumpDom(page + "#token=" + token(), 1280, 1500);
    assertThat(dom).containsPattern("generation \\d+ applied at [^:]+:[^:]+:[^:]+: 3 of 4 clients ACKed, 1 NACKed")
        .contains("<td>limited-client</td>").contains("<td>grpc</td>").contains("<td>nacked</td>")
        .contains("CDS: this client holds at most");
    Path screenshot = Path.of("target", "dashboard-rollout.png");
    chromium.screenshot(page + "#token=" + token(), screenshot, 1280, 1500);
    assertThat(Files.size(screenshot)).as("a screenshot with something on it").isGreaterThan(10_000);
  }

  @Test
  void waitZeroReturnsAtOnceAndAClientThatNeverAnswersRunsTheWaitOut() throws Exception {
    closeables.add(LimitedAdsClient.silent(readOnly(), "silent-client"));
    Await.until(() -> control.clients().stream().anyMatch(c -> c.nodeId().equals("silent-client")
        && !c.types().getOrDefault("CDS", NONE).sentVersion().isEmpty()), Duration.ofSeconds(10), "the silent client's CDS");

    Run quick = meshctl("apply", "--wait=0", "-o", "json", "-f", file("reviews-dr.yaml", destinationRule("v1")).toString());
    assertThat(quick.status()).as(quick.err()).isZero();
    JsonNode answer = JSON.readTree(quick.out());
    assertThat(answer.has("rollout")).as("--wait=0 reads no rollout").isFalse();
    // it did not wait: the silent client holds this change back for good, and a wait would have run out
    String rolloutPath = "/apis/rollout?generation=" + answer.path("generation").asLong();
    Await.until(() -> api(rolloutPath, Optional.of(token())).body().path("acked").asInt() == 3, Duration.ofSeconds(10),
        "the answering clients to ACK");
    JsonNode rollout = api(rolloutPath, Optional.of(token())).body();
    assertThat(rollout.path("settled").asBoolean()).isFalse();
    assertThat(rollout.path("pending").asInt()).isEqualTo(1);
    assertThat(rollout.path("clients").findValuesAsText("node")).contains("silent-client");

    Run bounded = meshctl("apply", "--wait=1s", "-f", file("reviews-dr.yaml", destinationRule("v1", "v2")).toString());
    assertThat(bounded.status()).as(bounded.out() + bounded.err()).isEqualTo(Meshctl.TIMED_OUT);
    assertThat(bounded.err())
        .contains("client silent-client (namespace default, grpc) [CDS] has not answered")
        .containsPattern("3 of 4 clients ACKed generation \\d+ within 1s \\(--wait\\), 0 NACKed, 1 still behind");
  }

  @Test
  void theRolloutEndpointNeedsACredentialLikeTheRestOfTheApi() throws Exception {
    assertThat(meshctl("apply", "-f", file("reviews-dr.yaml", destinationRule("v1")).toString()).status()).isZero();

    assertThat(api("/apis/rollout", Optional.empty()).status()).isEqualTo(401);
    assertThat(api("/apis/rollout", Optional.of("not-a-token")).status()).isEqualTo(401);
    Reply latest = api("/apis/rollout", Optional.of(token()));
    assertThat(latest.status()).isEqualTo(200);
    assertThat(latest.body().path("acked").asInt()).isEqualTo(3);
    assertThat(api("/apis/rollout?generation=999", Optional.of(token())).status()).isEqualTo(404);
  }

  private static final ClientStatus.TypeStatus NONE = new ClientStatus.TypeStatus("", "", Optional.empty(), 0);

  /** Waits until {@code count} clients are connected and each has ACKed the clusters it was sent. */
  private void awaitClustersAcked(int count) {
    Await.until(() -> {
      List<ClientStatus> clients = control.clients();
      return clients.size() == count && clients.stream().allMatch(c -> {
        ClientStatus.TypeStatus cds = c.types().getOrDefault("CDS", NONE);
        return !cds.ackedVersion().isEmpty() && cds.ackedVersion().equals(cds.sentVersion());
      });
    }, Duration.ofSeconds(20), count + " clients holding clusters");
  }

  private static String destinationRule(String... subsets) {
    StringBuilder yaml = new StringBuilder("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          subsets:
        """);
    for (String subset : subsets) {
      yaml.append("  - name: ").append(subset).append("\n    labels:\n      version: ").append(subset).append('\n');
    }
    return yaml.toString();
  }

  private Path file(String name, String yaml) throws Exception {
    Path path = files.resolve(name);
    Files.writeString(path, yaml, StandardCharsets.UTF_8);
    return path;
  }

  private String readOnly() {
    return "127.0.0.1:" + control.xdsReadOnlyPort().getAsInt();
  }

  private String token() {
    return control.adminCredential().orElseThrow().token();
  }

  record Reply(int status, JsonNode body) {}

  private Reply api(String path, Optional<String> bearer) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + control.httpPort() + path));
    bearer.ifPresent(t -> request.header("Authorization", "Bearer " + t));
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(response.statusCode(), JSON.readTree(response.body()));
    } catch (Exception e) {
      throw new AssertionError("GET " + path + " failed", e);
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
}
