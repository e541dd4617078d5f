package dev.inmesh.http.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.testing.Await;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Istio's trust domain migration, with a real mesh-control whose CA signs for {@code new-td} and
 * whose mesh config lists {@code old-td} as an alias: a policy written for the old trust domain, or
 * for {@code cluster.local}, still admits the workloads that now hold {@code new-td} certificates;
 * one written for a trust domain that is not an alias admits nobody.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrustDomainAliasesIT {
  InboundFixture mesh;
  MeshHttpServer httpbin;
  OkHttpClient sleep;
  OkHttpClient reader;
  OkHttpClient curl;
  OkHttpClient intruder;

  @BeforeAll
  void start() throws IOException {
    mesh = new InboundFixture(MeshControlOptions.ephemeral()
        .withCa(MeshControlOptions.EmbeddedCa.of("new-td", 0, 0))
        .withTrustDomainAliases(List.of("old-td")));
    int port = InboundFixture.freePort();
    Mesh httpbinMesh = mesh.server("httpbin", port);
    httpbin = MeshHttpServer.create(httpbinMesh, port);
    httpbin.createContext("/", exchange -> {
      PeerInfo peer = (PeerInfo) exchange.getAttribute(PeerInfo.ATTRIBUTE);
      byte[] body = peer.principal().map(Object::toString).orElse("-").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    httpbin.start();
    mesh.mtlsMode(httpbinMesh, port, MtlsMode.STRICT);
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: service-httpbin
          namespace: default
        spec:
          selector:
            matchLabels:
              app: httpbin
          rules:
          - from:
            - source:
                principals:
                - old-td/ns/default/sa/sleep
                - cluster.local/ns/default/sa/reader
                - other-td/ns/default/sa/curl
        """);
    InboundFixture.awaitPolicy(httpbinMesh, port, p -> !p.authorization().engines().isEmpty(), "the httpbin policy");
    sleep = client("sleep");
    reader = client("reader");
    curl = client("curl");
    intruder = client("intruder");
    Await.until(mesh.control::converged, InboundFixture.WAIT, "every client to hold the config");
  }

  private OkHttpClient client(String serviceAccount) {
    Mesh client = mesh.client(serviceAccount);
    client.awaitReady(InboundFixture.WAIT);
    return MeshHttp.client(client);
  }

  @AfterAll
  void stop() {
    if (httpbin != null) {
      httpbin.close();
    }
    mesh.close();
  }

  @Test
  void aPrincipalWrittenForAnAliasAdmitsTheSameServiceAccountInTheMeshTrustDomain() {
    assertThat(get(sleep)).isEqualTo("200 spiffe://new-td/ns/default/sa/sleep");
  }

  @Test
  void aPrincipalWrittenForClusterLocalNamesTheMeshTrustDomain() {
    assertThat(get(reader)).isEqualTo("200 spiffe://new-td/ns/default/sa/reader");
  }

  @Test
  void aPrincipalWrittenForATrustDomainThatIsNoAliasAdmitsNobody() {
    assertThat(get(curl)).isEqualTo("403 RBAC: access denied");
    assertThat(get(intruder)).isEqualTo("403 RBAC: access denied");
  }

  private static String get(OkHttpClient client) {
    try (Response response = client.newCall(new Request.Builder().url("http://httpbin:9080/ip").build()).execute()) {
      return response.code() + " " + response.body().string();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
