package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.IstioSamples;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Istio's trust domain migration, with a real mesh-control whose CA signs for {@code new-td} and
 * whose mesh config lists {@code old-td} as an alias: a policy written for the old trust domain, or
 * for {@code cluster.local}, still admits the workloads that now hold {@code new-td} certificates;
 * one written for a trust domain that is not an alias admits nobody. Then Istio's own task policy
 * ({@code istio-io-tasks/security-authz-td-migration.yaml}, when {@code shared/istio-samples} is
 * there) admits sleep of {@code sleep-allow} and not sleep of {@code default}, as the task shows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrustDomainAliasesIT {
  InboundFixture mesh;
  final List<MeshHttpServer> servers = new ArrayList<>();
  Mesh httpbinMesh;
  int httpbinPort;
  OkHttpClient sleep;
  OkHttpClient reader;
  OkHttpClient curl;
  OkHttpClient intruder;
  OkHttpClient sleepAllow;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture(MeshControlOptions.ephemeral()
        .withCa(MeshControlOptions.EmbeddedCa.of("new-td", 0, 0))
        .withTrustDomainAliases(List.of("old-td")));
    int echoPort = InboundFixture.freePort();
    Mesh echoMesh = serve("echo", echoPort);
    httpbinPort = InboundFixture.freePort();
    httpbinMesh = serve("httpbin", httpbinPort);
    mesh.mtlsMode(echoMesh, echoPort, MtlsMode.STRICT);
    InboundFixture.awaitPolicy(httpbinMesh, httpbinPort, p -> p.mode() == MtlsMode.STRICT, "httpbin to be STRICT");
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: service-echo
          namespace: default
        spec:
          selector:
            matchLabels:
              app: echo
          rules:
          - from:
            - source:
                principals:
                - old-td/ns/default/sa/sleep
                - cluster.local/ns/default/sa/reader
                - other-td/ns/default/sa/curl
        """);
    InboundFixture.awaitPolicy(echoMesh, echoPort, p -> !p.authorization().engines().isEmpty(), "the echo policy");
    sleep = client(mesh.client("sleep"));
    reader = client(mesh.client("reader"));
    curl = client(mesh.client("curl"));
    intruder = client(mesh.client("intruder"));
    sleepAllow = client(mesh.client("sleep-allow", "sleep"));
    Await.until(mesh.control::converged, InboundFixture.WAIT, "every client to hold the config");
  }

  private Mesh serve(String service, int port) throws IOException {
    Mesh server = mesh.server(service, port);
    MeshHttpServer http = MeshHttpServer.create(server, port);
    http.createContext("/", exchange -> {
      PeerInfo peer = (PeerInfo) exchange.getAttribute(PeerInfo.ATTRIBUTE);
      byte[] body = peer.principal().map(Object::toString).orElse("-").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
    servers.add(http);
    return server;
  }

  private static OkHttpClient client(Mesh client) {
    client.awaitReady(InboundFixture.WAIT);
    return MeshHttp.client(client);
  }

  @AfterAll
  void stop() {
    servers.forEach(MeshHttpServer::close);
    mesh.close();
  }

  @Test
  void aPrincipalWrittenForAnAliasAdmitsTheSameServiceAccountInTheMeshTrustDomain() {
    assertThat(get(sleep, "echo")).isEqualTo("200 spiffe://new-td/ns/default/sa/sleep");
  }

  @Test
  void aPrincipalWrittenForClusterLocalNamesTheMeshTrustDomain() {
    assertThat(get(reader, "echo")).isEqualTo("200 spiffe://new-td/ns/default/sa/reader");
  }

  @Test
  void aPrincipalWrittenForATrustDomainThatIsNoAliasAdmitsNobody() {
    assertThat(get(curl, "echo")).isEqualTo("403 RBAC: access denied");
    assertThat(get(intruder, "echo")).isEqualTo("403 RBAC: access denied");
  }

  @Test
  void istiosTrustDomainMigrationTaskAdmitsTheOldDomainsSleepOnly() throws IOException {
    Optional<Path> task = IstioSamples.file("istio-io-tasks/security-authz-td-migration.yaml");
    Assumptions.assumeTrue(task.isPresent(), "shared/istio-samples/istio-io-tasks/security-authz-td-migration.yaml not found");
    ApplyResult result = mesh.control.apply("security-authz-td-migration.yaml", Files.readString(task.get()));
    assertThat(result.errors()).isEmpty();
    InboundFixture.awaitPolicy(httpbinMesh, httpbinPort, p -> !p.authorization().engines().isEmpty(),
        "the task's httpbin policy");

    assertThat(get(sleepAllow, "httpbin")).isEqualTo("200 spiffe://new-td/ns/sleep-allow/sa/sleep");
    assertThat(get(sleep, "httpbin")).isEqualTo("403 RBAC: access denied");
  }

  private static String get(OkHttpClient client, String service) {
    Request request = new Request.Builder().url("http://" + service + ".default.svc.cluster.local:9080/ip").build();
    try (Response response = client.newCall(request).execute()) {
      return response.code() + " " + response.body().string();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
