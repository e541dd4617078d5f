package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.xds.WorkloadMetadata;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the API applied outlives mesh-control: an answered apply is on disk before it is in force, a
 * write that fails fails the apply, a persisted file that does not load leaves mesh-control not
 * ready rather than serving less than it held, and SIGKILL at any moment loses nothing answered.
 */
class PersistedStateIT {
  private static final String DENY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: no-admin, namespace: default}
      spec:
        selector: {matchLabels: {app: reviews}}
        action: DENY
        rules:
        - to:
          - operation: {paths: ["/admin"]}
      """;

  @TempDir
  Path dir;

  private MeshControlOptions options() {
    return MeshControlOptions.ephemeral().withDataDir(dir.resolve("data")).withXdsReadOnlyPort(0);
  }

  private static List<String> names(AdminClient admin) {
    return admin.get("/apis/resources").body().findValuesAsText("name");
  }

  @Test
  void whatTheApiAppliedIsInForceAgainAfterARestart() throws Exception {
    try (MeshControl control = MeshControl.start(options())) {
      assertThat(AdminClient.admin(control).post("/apis/apply", DENY).status()).isEqualTo(200);
      assertThat(AdminClient.admin(control).post("/apis/apply", DENY.replace("no-admin", "other")).status()).isEqualTo(200);
    }
    try (MeshControl control = MeshControl.start(options())) {
      MeshFixture.await(control::isReady, Duration.ofSeconds(5), "readiness");
      assertThat(names(AdminClient.admin(control))).containsExactlyInAnyOrder("no-admin", "other");
      assertThat(dir.resolve("data").resolve("applied.yaml.prev")).as("the previous good copy").exists();
    }
  }

  @Test
  void aFileAnEarlierVersionWroteLoadsAndIsRewrittenInTheJournalsForm() throws Exception {
    Path applied = Files.createDirectories(dir.resolve("data")).resolve("applied.yaml");
    // as an earlier version wrote it: the resources' YAML and nothing else
    Files.writeString(applied, DENY);

    try (MeshControl control = MeshControl.start(options())) {
      MeshFixture.await(control::isReady, Duration.ofSeconds(5), "readiness");
      assertThat(names(AdminClient.admin(control))).containsExactly("no-admin");
    }
    assertThat(Files.readString(applied)).startsWith("# mesh-control").contains("no-admin");
  }

  @Test
  void aConfigDirectoryMissingAtStartKeepsMeshControlNotReadyUntilItIsThere() throws Exception {
    Path config = dir.resolve("config");
    try (MeshControl control = MeshControl.start(options().withConfigDir(config).withPollInterval(Duration.ofMillis(100)))) {
      AdminClient anonymous = new AdminClient(control.httpPort(), Optional.empty());
      MeshFixture.await(() -> anonymous.get("/readyz").body().asText().contains(config.toString()), Duration.ofSeconds(5),
          "readyz to name the directory");
      assertThat(control.isReady()).isFalse();

      // the directory appears whole, as a mount or a rename into place makes it
      Path staged = Files.createDirectories(dir.resolve("staged"));
      Files.writeString(staged.resolve("policy.yaml"), DENY);
      Files.move(staged, config, java.nio.file.StandardCopyOption.ATOMIC_MOVE);

      MeshFixture.await(control::isReady, Duration.ofSeconds(5), "readiness once the directory is read");
      assertThat(control.resources()).extracting(r -> r.key().name()).containsExactly("no-admin");
    }
  }

  @Test
  void aPersistedFileThatDoesNotLoadLeavesMeshControlNotReadyServingNoOneAndTheFileAsItWas() throws Exception {
    try (MeshControl control = MeshControl.start(options())) {
      AdminClient.admin(control).post("/apis/apply", DENY);
    }
    Path applied = dir.resolve("data").resolve("applied.yaml");
    // what a crash of a version that wrote in place could leave
    Files.writeString(applied, "");

    try (MeshControl control = MeshControl.start(options())) {
      AdminClient admin = AdminClient.admin(control);
      AdminClient.Reply ready = new AdminClient(control.httpPort(), Optional.empty()).get("/readyz");
      assertThat(ready.status()).isEqualTo(503);
      assertThat(ready.body().asText()).contains(applied.toString()).contains("empty").contains("applied.yaml.prev");

      AdminClient.Reply apply = admin.post("/apis/apply", DENY.replace("no-admin", "other"));
      assertThat(apply.status()).as("no apply may overwrite what did not load").isEqualTo(503);
      assertThat(apply.body().path("errors").toString()).contains("applied.yaml");

      ManagedChannel channel = io.grpc.ManagedChannelBuilder.forAddress("127.0.0.1", control.xdsReadOnlyPort().getAsInt())
          .usePlaintext().build();
      try {
        Object answer = XdsSecurityIT.ads(channel, io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId("client")
            .setMetadata(com.google.protobuf.Struct.newBuilder().putFields(WorkloadMetadata.NAMESPACE,
                com.google.protobuf.Value.newBuilder().setStringValue("default").build())).build())
            .get(10, TimeUnit.SECONDS);
        assertThat(answer).as("no client is served a mesh without the policy").isInstanceOf(Status.class);
        assertThat(((Status) answer).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(((Status) answer).getDescription()).contains("applied.yaml");
      } finally {
        channel.shutdownNow();
      }
      assertThat(Files.readString(applied)).isEmpty();
    }
  }

  @Test
  void anApplyThatCannotBeWrittenIsRefusedAndNotInForce() throws Exception {
    try (MeshControl control = MeshControl.start(options())) {
      AdminClient admin = AdminClient.admin(control);
      admin.post("/apis/apply", DENY);
      // the temporary file's name taken by a directory: every write fails as a full disk would
      Files.createDirectory(dir.resolve("data").resolve(".applied.yaml.tmp"));
      Files.writeString(dir.resolve("data").resolve(".applied.yaml.tmp").resolve("something"), "");

      AdminClient.Reply refused = admin.post("/apis/apply", DENY.replace("no-admin", "other"));
      AdminClient.Reply notDeleted = admin.post("/apis/delete", DENY);

      assertThat(refused.status()).isEqualTo(503);
      assertThat(refused.body().path("errors").toString()).contains("cannot persist");
      assertThat(notDeleted.status()).isEqualTo(503);
      assertThat(names(admin)).containsExactly("no-admin");
    }
  }

  /**
   * mesh-control as users run it, its jar, SIGKILLed at random moments while applies and deletes
   * go on. After every restart it is ready, every apply it answered is there, every delete it
   * answered stays deleted, and the DENY policy applied first is still in force.
   */
  @Test
  void sigkillAtRandomMomentsLosesNoAnsweredChange() throws Exception {
    int kills = 20;
    long seed = System.nanoTime();
    SplittableRandom random = new SplittableRandom(seed);
    int httpPort = freePort();
    Path credential = dir.resolve("credential");
    Set<String> applied = new ConcurrentSkipListSet<>();
    Set<String> deleted = new ConcurrentSkipListSet<>();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    int next = 0;
    for (int round = 0; round <= kills; round++) {
      Process process = start(httpPort, credential);
      try {
        String token = awaitReady(http, httpPort, process, credential);
        AdminClient admin = new AdminClient(httpPort, Optional.of(token));
        if (round == 0) {
          assertThat(admin.post("/apis/apply", DENY).status()).isEqualTo(200);
          applied.add("no-admin");
        }
        List<String> present = names(admin);
        assertThat(present).as("round %d (seed %d): every answered apply is there", round, seed).containsAll(applied);
        assertThat(present).as("round %d (seed %d): every answered delete stays deleted", round, seed)
            .noneMatch(deleted::contains);
        if (round == kills) {
          break;
        }
        AtomicBoolean stop = new AtomicBoolean();
        int first = next;
        Thread changes = new Thread(() -> {
          for (int n = first; !stop.get(); n++) {
            String name = "svc-" + n;
            try {
              if (admin.post("/apis/apply", virtualService(name)).status() == 200) {
                applied.add(name);
              }
              if (n % 3 == 0) {
                // in flight, a delete may or may not take effect: the name is neither answered one way nor the other
                applied.remove(name);
                if (admin.post("/apis/delete", virtualService(name)).status() == 200) {
                  deleted.add(name);
                } else {
                  applied.add(name);
                }
              }
            } catch (RuntimeException e) {
              return; // killed mid-request: neither answered nor refused
            }
          }
        });
        changes.start();
        Thread.sleep(50 + random.nextInt(750));
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        stop.set(true);
        changes.join(10_000);
        next += 10_000;
      } finally {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    assertThat(applied.size() + deleted.size()).as("changes were answered between the kills").isGreaterThan(kills);
  }

  private static String virtualService(String name) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: %s, namespace: default}
        spec:
          hosts: [%s]
          http:
          - route:
            - destination: {host: %s}
        """.formatted(name, name, name);
  }

  private Process start(int httpPort, Path credential) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", Path.of("target", "mesh-control.jar").toString(), "--data-dir", dir.resolve("data").toString(),
        "--xds-port", "0", "--http-port", String.valueOf(httpPort), "--ca-grpc-port", "0", "--ca-https-port", "0",
        "--admin-credential", credential.toString()));
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("mesh-control.log").toFile())).start();
  }

  private String awaitReady(HttpClient http, int port, Process process, Path credential) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = "";
    while (System.nanoTime() < deadline && process.isAlive()) {
      try {
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
            HttpResponse.BodyHandlers.ofString());
        last = ready.body();
        if (ready.statusCode() == 200) {
          return dev.inmesh.control.api.OperatorCredential.read(credential).token();
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(50);
    }
    List<String> log = Files.readAllLines(dir.resolve("mesh-control.log"));
    throw new AssertionError("mesh-control did not become ready (" + last.strip() + "); its log ends:\n"
        + String.join("\n", log.subList(Math.max(0, log.size() - 20), log.size())));
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
