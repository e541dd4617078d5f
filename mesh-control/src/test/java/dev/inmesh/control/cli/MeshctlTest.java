package dev.inmesh.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** meshctl driven in-process through picocli: output, -o json, exit codes, and errors that name their cause. */
class MeshctlTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Nothing listens on port 1 on loopback: a refused connection, not a hang. */
  // HOME points nowhere, so that a credential in the real ~/.inmesh cannot change what these tests see
  private static final Map<String, String> NO_SERVER = Map.of("MESHCTL_SERVER", "http://127.0.0.1:1", "HOME", "/nonexistent/inmesh-home");

  record Run(int status, String out, String err) {}

  @Test
  void analyzeOfACleanDirectoryPrintsNoIssuesAndExitsZero() throws Exception {
    Run run = meshctl(NO_SERVER, "analyze", fixture("service"), fixture("clean"));
    assertThat(run.status()).isEqualTo(Meshctl.OK);
    assertThat(run.out()).contains("No validation issues found");
  }

  @Test
  void analyzeWithJsonOutputListsEachFindingWithCodeSeverityResourceAndMessage() throws Exception {
    Run run = meshctl(NO_SERVER, "analyze", fixture("service"), fixture("missing-subset"), "-o", "json");
    assertThat(run.status()).isEqualTo(Meshctl.FINDINGS);
    JsonNode findings = JSON.readTree(run.out());
    assertThat(findings).hasSize(1);
    assertThat(findings.get(0).path("code").asText()).isEqualTo("IST0101");
    assertThat(findings.get(0).path("name").asText()).isEqualTo("ReferencedResourceNotFound");
    assertThat(findings.get(0).path("severity").asText()).isEqualTo("Error");
    assertThat(findings.get(0).path("resource").asText()).isEqualTo("VirtualService/default/reviews");
    assertThat(findings.get(0).path("message").asText()).contains("subset v3");
  }

  @Test
  void aWarningFailsAnalyzeOnlyWhenTheFailThresholdIsWarning() throws Exception {
    assertThat(meshctl(NO_SERVER, "analyze", fixture("service"), fixture("unreachable-route")).status()).isEqualTo(Meshctl.OK);
    Run strict = meshctl(NO_SERVER, "analyze", fixture("service"), fixture("unreachable-route"), "--fail-threshold", "Warning");
    assertThat(strict.status()).isEqualTo(Meshctl.FINDINGS);
    assertThat(strict.out()).contains("Warning [IST0130] (VirtualService/default/reviews) spec.http[1]");
  }

  @Test
  void theOutputThresholdHidesFindingsBelowIt() throws Exception {
    Run run = meshctl(NO_SERVER, "analyze", fixture("service"), fixture("duplicate-match"), "--output-threshold", "Warning", "-o", "json");
    assertThat(run.status()).isEqualTo(Meshctl.OK);
    assertThat(JSON.readTree(run.out())).isEmpty();
  }

  @Test
  void applyOfBadYamlNamesFileResourceAndFieldAndSendsNothing() throws Exception {
    Run run = meshctl(NO_SERVER, "apply", "-f", fixture("schema-error"));
    // exit 1, not 3: validation stopped it before any request to the (absent) server
    assertThat(run.status()).isEqualTo(Meshctl.FINDINGS);
    assertThat(run.err()).contains("bad-weight.yaml: VirtualService/default/reviews: spec.http[0].route[0].weight:")
        .contains("not sent");
  }

  @Test
  void anUnreachableServerExitsThreeNamingTheUrlFromTheEnvironment() {
    Run run = meshctl(NO_SERVER, "status");
    assertThat(run.status()).isEqualTo(Meshctl.UNREACHABLE);
    assertThat(run.err()).contains("cannot reach mesh-control at http://127.0.0.1:1");
  }

  @Test
  void theServerFlagWinsOverTheEnvironment() {
    Run run = meshctl(NO_SERVER, "--server", "http://127.0.0.1:2", "get");
    assertThat(run.status()).isEqualTo(Meshctl.UNREACHABLE);
    assertThat(run.err()).contains("http://127.0.0.1:2");
  }

  @Test
  void usageErrorsExitTwo() throws Exception {
    assertThat(meshctl(NO_SERVER, "bogus").status()).isEqualTo(Meshctl.USAGE);
    assertThat(meshctl(NO_SERVER, "apply").status()).isEqualTo(Meshctl.USAGE);
    assertThat(meshctl(NO_SERVER, "analyze", fixture("service"), fixture("clean"), "--fail-threshold", "Severe").status()).isEqualTo(Meshctl.USAGE);
    assertThat(meshctl(NO_SERVER, "get", "gizmo").status()).isEqualTo(Meshctl.USAGE);
    Run both = meshctl(NO_SERVER, "delete");
    assertThat(both.status()).isEqualTo(Meshctl.USAGE);
    assertThat(both.err()).contains("give either -f FILE or one KIND/NAME");
  }

  @Test
  void waitTakesADurationAsIstioctlDoesOrZero() throws Exception {
    Run bad = meshctl(NO_SERVER, "apply", "--wait=soon", "-f", fixture("clean"));
    assertThat(bad.status()).isEqualTo(Meshctl.USAGE);
    assertThat(bad.err()).contains("--wait takes a duration such as 30s, 2m or 500ms, or 0 for no wait; got 'soon'");
    assertThat(RolloutWait.parse("0")).isZero();
    assertThat(RolloutWait.parse("1m30s")).isEqualTo(java.time.Duration.ofSeconds(90));
    assertThat(RolloutWait.parse(RolloutWait.DEFAULT)).as("istioctl x wait's default").isEqualTo(java.time.Duration.ofSeconds(30));
  }

  @Test
  void helpListsEveryCommandAndTheExitCodes() {
    Run run = meshctl(NO_SERVER, "--help");
    assertThat(run.status()).isZero();
    assertThat(run.out()).contains("apply", "get", "describe", "delete", "analyze", "status", "config-dump", "explain", "token")
        .contains("3  server unreachable");
  }

  private static Run meshctl(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Meshctl.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env);
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static String fixture(String name) throws URISyntaxException {
    return Path.of(MeshctlTest.class.getResource("/analyze/" + name).toURI()).toString();
  }
}
