package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.control.api.ApiCredentials;
import dev.inmesh.control.api.OperatorCredential;
import dev.inmesh.control.api.Role;
import dev.inmesh.control.cli.Meshctl;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mesh-control's operator API against the attacks of an outsider who can reach its port: every
 * call that changes or reveals policy, tokens, certificates or the registry needs a credential of
 * the right role, bodies a web page could send are refused, and each refusal changes nothing.
 */
class OperatorApiSecurityIT {
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: reviews
        namespace: default
      spec:
        hosts: [reviews]
        http:
        - route:
          - destination:
              host: reviews
      """;
  private static final String TOKEN_REQUEST = "{\"namespace\": \"default\", \"serviceAccount\": \"bookinfo-reviews\"}";

  @TempDir
  Path dir;
  MeshControl control;
  String viewerToken;
  String editorToken;
  String adminToken;

  @BeforeEach
  void start() throws IOException {
    SecureRandom random = new SecureRandom();
    viewerToken = ApiCredentials.newToken(random);
    editorToken = ApiCredentials.newToken(random);
    adminToken = ApiCredentials.newToken(random);
    Path tokens = dir.resolve("api-tokens");
    Files.writeString(tokens, String.join("\n", "# who may call",
        ApiCredentials.line(Role.VIEWER, "alice", viewerToken),
        ApiCredentials.line(Role.EDITOR, "ci", editorToken),
        ApiCredentials.line(Role.ADMIN, "root", adminToken)) + "\n");
    MeshControlOptions options = MeshControlOptions.ephemeral();
    control = MeshControl.start(options.withApi(options.api().withTokens(tokens)));
  }

  @AfterEach
  void stop() {
    control.close();
  }

  private AdminClient as(String token) {
    return new AdminClient(control.httpPort(), Optional.ofNullable(token));
  }

  @Test
  void mintingAJoinTokenNeedsAnAdminCredential() {
    AdminClient.Reply anonymous = as(null).post("/apis/tokens", "application/json", TOKEN_REQUEST);
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(anonymous.body().get("error").asText()).contains("needs a credential with role admin");
    assertThat(as(viewerToken).post("/apis/tokens", "application/json", TOKEN_REQUEST).status()).isEqualTo(403);
    AdminClient.Reply editor = as(editorToken).post("/apis/tokens", "application/json", TOKEN_REQUEST);
    assertThat(editor.status()).isEqualTo(403);
    assertThat(editor.body().get("error").asText()).isEqualTo("credential 'ci' has role editor; POST /apis/tokens needs admin");
    AdminClient.Reply forged = as("inmesh-api-" + "A".repeat(43)).post("/apis/tokens", "application/json", TOKEN_REQUEST);
    assertThat(forged.status()).isEqualTo(401);
    assertThat(control.ca().orElseThrow().joinTokens().outstanding()).as("no token was minted").isZero();

    AdminClient.Reply minted = as(adminToken).post("/apis/tokens", "application/json", TOKEN_REQUEST);
    assertThat(minted.status()).isEqualTo(200);
    assertThat(minted.body().get("identity").asText()).isEqualTo("spiffe://cluster.local/ns/default/sa/bookinfo-reviews");
    assertThat(control.ca().orElseThrow().joinTokens().outstanding()).isEqualTo(1);
  }

  @Test
  void applyAndDeleteNeedAnEditorCredential() {
    assertThat(as(null).post("/apis/apply", VIRTUAL_SERVICE).status()).isEqualTo(401);
    assertThat(as(viewerToken).post("/apis/apply", VIRTUAL_SERVICE).status()).isEqualTo(403);
    assertThat(control.resources()).as("nothing applied").isEmpty();

    assertThat(as(editorToken).post("/apis/apply", VIRTUAL_SERVICE).status()).isEqualTo(200);
    assertThat(as(null).delete("/apis/VirtualService/default/reviews").status()).isEqualTo(401);
    assertThat(as(viewerToken).delete("/apis/VirtualService/default/reviews").status()).isEqualTo(403);
    assertThat(as(viewerToken).post("/apis/delete", VIRTUAL_SERVICE).status()).isEqualTo(403);
    assertThat(control.resources()).as("nothing deleted").hasSize(1);
    assertThat(as(editorToken).delete("/apis/VirtualService/default/reviews").status()).isEqualTo(200);
    assertThat(control.resources()).isEmpty();
  }

  @Test
  void rootRotationNeedsAnAdminCredential() {
    var ca = control.ca().orElseThrow();
    BigInteger signing = ca.rootCertificate().getSerialNumber();
    String prepare = "{\"step\": \"prepare\"}";
    assertThat(as(null).post("/apis/ca/rotate", "application/json", prepare).status()).isEqualTo(401);
    assertThat(as(viewerToken).post("/apis/ca/rotate", "application/json", prepare).status()).isEqualTo(403);
    assertThat(as(editorToken).post("/apis/ca/rotate", "application/json", prepare).status()).isEqualTo(403);
    assertThat(ca.trustBundle().roots()).as("no second root was prepared").hasSize(1);
    assertThat(ca.rootCertificate().getSerialNumber()).isEqualTo(signing);

    assertThat(as(adminToken).post("/apis/ca/rotate", "application/json", prepare).status()).isEqualTo(200);
    assertThat(ca.trustBundle().roots()).hasSize(2);
  }

  @Test
  void bodiesThatAWebPageCouldSendAreRefusedEvenWithACredential() {
    // a form or a no-preflight fetch from any site an operator visits can send these three
    for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "Text/Plain; charset=utf-8")) {
      AdminClient.Reply reply = as(editorToken).post("/apis/apply", type, VIRTUAL_SERVICE);
      assertThat(reply.status()).as(type).isEqualTo(415);
      assertThat(reply.body().get("error").asText()).contains("bodies that a web form can send are refused");
    }
    assertThat(as(editorToken).post("/apis/apply", null, VIRTUAL_SERVICE).status()).as("no Content-Type").isEqualTo(415);
    assertThat(as(adminToken).post("/apis/tokens", "text/plain", TOKEN_REQUEST).status()).isEqualTo(415);
    assertThat(control.resources()).as("nothing applied").isEmpty();
    assertThat(control.ca().orElseThrow().joinTokens().outstanding()).as("no token was minted").isZero();
  }

  @Test
  void readingPolicyTheRegistryOrCertificatesNeedsAViewerCredential() {
    assertThat(as(editorToken).post("/apis/apply", VIRTUAL_SERVICE).status()).isEqualTo(200);
    for (String path : List.of("/apis/resources", "/apis/status", "/apis/analyze", "/apis/describe/VirtualService/default/reviews",
        "/debug/clients", "/debug/registry", "/debug/config_dump", "/debug/graph", "/debug/load", "/debug/certificates",
        "/apis/ca/root", "/no/such/endpoint")) {
      AdminClient.Reply anonymous = as(null).get(path);
      assertThat(anonymous.status()).as(path).isEqualTo(401);
      assertThat(anonymous.body().size()).as("%s answers its error and nothing else: %s", path, anonymous.body()).isEqualTo(1);
      assertThat(anonymous.body().toString()).as(path).doesNotContain("hosts").doesNotContain("BEGIN CERTIFICATE");
    }
    assertThat(as(viewerToken).get("/apis/resources").body().findValuesAsText("name")).containsExactly("reviews");
    assertThat(as(viewerToken).get("/no/such/endpoint").status()).isEqualTo(404);
    for (String path : List.of("/healthz", "/readyz", "/metrics", "/dashboard")) {
      assertThat(as(null).get(path).status()).as(path + " is open, as istiod's are").isEqualTo(200);
    }
    assertThat(as(null).get("/dashboard").body().asText()).as("the page carries no data of its own").doesNotContain("reviews");
  }

  @Test
  void aBodyOverTheLimitIsRefusedUnread() {
    String huge = VIRTUAL_SERVICE + "#" + "x".repeat(5 << 20) + "\n";
    AdminClient.Reply reply = as(editorToken).post("/apis/apply", huge);
    assertThat(reply.status()).isEqualTo(413);
    assertThat(control.resources()).isEmpty();
  }

  @Test
  void joinTokensAreBoundedInLifetime() {
    AdminClient.Reply reply = as(adminToken).post("/apis/tokens", "application/json",
        "{\"namespace\": \"default\", \"serviceAccount\": \"reviews\", \"ttlSeconds\": " + 8 * 86_400 + "}");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.body().get("error").asText()).contains("at most 7 days");
    assertThat(control.ca().orElseThrow().joinTokens().outstanding()).isZero();
  }

  @Test
  void meshctlWithoutACredentialIsToldWhereToFindOne() {
    Run run = meshctl(Map.of("MESHCTL_SERVER", "http://127.0.0.1:" + control.httpPort(), "HOME", dir.toString()),
        "token", "create", "--namespace", "default", "--service-account", "reviews");
    assertThat(run.status()).isEqualTo(Meshctl.FINDINGS);
    assertThat(run.err()).contains("needs a credential with role admin").contains("$MESHCTL_CREDENTIAL");
    assertThat(control.ca().orElseThrow().joinTokens().outstanding()).isZero();

    Run viewer = meshctl(Map.of("MESHCTL_SERVER", "http://127.0.0.1:" + control.httpPort(), "MESHCTL_TOKEN", viewerToken,
        "HOME", dir.toString()), "apply", "-f", write("vs.yaml", VIRTUAL_SERVICE).toString());
    assertThat(viewer.status()).isEqualTo(Meshctl.FINDINGS);
    assertThat(viewer.err() + viewer.out()).contains("credential 'alice' has role viewer");
    assertThat(control.resources()).isEmpty();

    Run missing = meshctl(Map.of("MESHCTL_CREDENTIAL", dir.resolve("nowhere").toString()), "get", "virtualservices");
    assertThat(missing.status()).isEqualTo(Meshctl.USAGE);
    assertThat(missing.err()).contains("the credential file " + dir.resolve("nowhere") + " does not exist");
  }

  @Test
  void aTokenFileWithABadLineStopsTheStartNamingTheLine() throws IOException {
    Path tokens = write("bad-tokens", "# comment\nviewer alice sha256:" + "0".repeat(64) + "\nowner bob sha256:" + "1".repeat(64) + "\n");
    MeshControlOptions options = MeshControlOptions.ephemeral();
    assertThatThrownBy(() -> MeshControl.start(options.withApi(options.api().withTokens(tokens))).close())
        .isInstanceOf(IOException.class)
        .hasMessageContaining(tokens + ":3: role must be viewer, editor or admin, got 'owner'");
    Path empty = write("empty-tokens", "# nobody yet\n");
    assertThatThrownBy(() -> MeshControl.start(options.withApi(options.api().withTokens(empty))).close())
        .hasMessageContaining("holds no credential, so no one could call the API");
    Path plain = write("plain-tokens", "admin root " + ApiCredentials.newToken(new SecureRandom()) + "\n");
    assertThatThrownBy(() -> MeshControl.start(options.withApi(options.api().withTokens(plain))).close())
        .hasMessageContaining(plain + ":1: the third field must be sha256:");
  }

  @Test
  void theAdminCredentialMadeAtTheFirstStartKeepsWorkingAfterARestart() throws IOException {
    Path data = dir.resolve("data");
    String token;
    try (MeshControl first = MeshControl.start(MeshControlOptions.ephemeral().withDataDir(data))) {
      Path file = first.adminCredentialFile().orElseThrow();
      assertThat(file).isEqualTo(data.resolve("admin-credential"));
      token = OperatorCredential.read(file).token();
      assertThat(Files.readString(data.resolve("api-tokens"))).as("only the token's digest is kept").doesNotContain(token)
          .contains("admin admin sha256:");
    }
    try (MeshControl second = MeshControl.start(MeshControlOptions.ephemeral().withDataDir(data))) {
      assertThat(second.adminCredential().orElseThrow().token()).as("no new credential is made").isEqualTo(token);
      assertThat(OperatorCredential.read(data.resolve("admin-credential")).server())
          .as("the credential follows the server to its new port").isEqualTo("http://127.0.0.1:" + second.httpPort());
      assertThat(new AdminClient(second.httpPort(), Optional.of(token)).get("/apis/resources").status()).isEqualTo(200);
      assertThat(new AdminClient(second.httpPort(), Optional.empty()).get("/apis/resources").status()).isEqualTo(401);
    }
  }

  @Test
  void beyondLoopbackTheApiIsServedOverTlsThatCurlVerifiesAgainstTheMeshRoot() throws Exception {
    MeshControlOptions options = MeshControlOptions.ephemeral();
    try (MeshControl open = MeshControl.start(options.withApi(options.api().withBindAddress("0.0.0.0")))) {
      OperatorCredential credential = open.adminCredential().orElseThrow();
      assertThat(credential.server()).isEqualTo("https://127.0.0.1:" + open.httpPort());
      Path root = write("root.pem", credential.certificateAuthority().orElseThrow());
      String url = credential.server() + "/apis/resources";

      Curl verified = curl("--cacert", root.toString(), "-H", "Authorization: Bearer " + credential.token(), url);
      assertThat(verified.out()).isEqualTo("200");
      assertThat(curl("--cacert", root.toString(), url).out()).as("TLS, but no credential").isEqualTo("401");
      Curl untrusted = curl("-H", "Authorization: Bearer " + credential.token(), url);
      assertThat(untrusted.exit()).as("curl with only the system's roots does not trust the mesh's").isEqualTo(60);
      Curl plaintext = curl("-H", "Authorization: Bearer " + credential.token(), "http://127.0.0.1:" + open.httpPort() + "/apis/resources");
      assertThat(plaintext.out()).as("plain HTTP gets no answer").isNotEqualTo("200");

      Run meshctl = meshctl(Map.of("MESHCTL_CREDENTIAL", open.adminCredentialFile().orElseThrow().toString()),
          "get", "virtualservices", "-o", "json");
      assertThat(meshctl.status()).as(meshctl.err()).isEqualTo(Meshctl.OK);
    }
  }

  @Test
  void theCaCertificateNamesTheServerNamesRemoteWorkloadsDial() throws Exception {
    MeshControlOptions options = MeshControlOptions.ephemeral().withServerNames(List.of("mesh-control.example.internal", "192.0.2.10"));
    try (MeshControl named = MeshControl.start(options)) {
      // openssl as an outside client reads the CA's own certificate off its HTTPS port
      String names = OpensslClient.subjectAltNames("127.0.0.1:" + named.caHttpsPort(), "-servername",
          "mesh-control.example.internal");
      assertThat(names).contains("DNS:mesh-control.example.internal", "IP Address:192.0.2.10", "DNS:localhost",
          "IP Address:127.0.0.1");
    }
  }

  private Path write(String name, String text) {
    try {
      return Files.writeString(dir.resolve(name), text);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  record Curl(int exit, String out) {}

  private static Curl curl(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
        "--max-time", "10"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new Curl(process.exitValue(), out);
  }

  record Run(int status, String out, String err) {}

  private static Run meshctl(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Meshctl.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env);
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
