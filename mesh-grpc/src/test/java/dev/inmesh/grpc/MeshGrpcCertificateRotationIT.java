package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A MeshGrpc client and server with 30-second certificates under STRICT, calling for two minutes.
 * The server ends every connection after five seconds, so new handshakes keep happening with
 * whatever certificates are current. Not one RPC may fail.
 */
class MeshGrpcCertificateRotationIT {
  private static final Duration TTL = Duration.ofSeconds(30);

  @Test
  void thirtySecondCertificatesUnderLoadForTwoMinutesFailNoRpc() throws Exception {
    try (GrpcMesh mesh = new GrpcMesh()) {
      mesh.apply("""
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: {name: default, namespace: default}
          spec: {mtls: {mode: STRICT}}
          """);
      int port = GrpcMesh.freePort();
      Mesh greeterMesh = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default")
          .service("greeter").serviceAccount("greeter").label("app", "greeter").servePort("grpc", 9000, port), "greeter")
          .certificate("cluster.local", TTL).build();
      Server server = MeshGrpc.serverBuilder(greeterMesh, port)
          .addService(Greeter.service("v1", Duration.ZERO))
          .maxConnectionAge(5, TimeUnit.SECONDS)
          .maxConnectionAgeGrace(5, TimeUnit.SECONDS)
          .build()
          .start();
      Mesh client = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default")
          .serviceAccount("productpage"), "productpage").certificate("cluster.local", TTL).build();
      Map<String, AtomicInteger> issued = new ConcurrentHashMap<>();
      for (Mesh m : List.of(greeterMesh, client)) {
        CertificateManager certificates = m.certificates().orElseThrow();
        certificates.onEvent(event -> {
          if (event instanceof CertificateManager.CertificateEvent.Issued) {
            issued.computeIfAbsent(certificates.identity().toString(), k -> new AtomicInteger()).incrementAndGet();
          }
        });
      }
      mesh.awaitWorkloads(1);
      ManagedChannel channel = mesh.channel(client, "greeter:9000");
      mesh.awaitConverged();
      Await.until(() -> GrpcMesh.call(channel, Map.of()).equals("v1"), GrpcMesh.WAIT, "the first RPC to succeed");

      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger ok = new AtomicInteger();
      List<String> failures = new CopyOnWriteArrayList<>();
      Thread load = new Thread(() -> {
        while (running.get()) {
          try {
            Greeter.sayHello(channel, "x", Map.of(), Duration.ofSeconds(5));
            ok.incrementAndGet();
          } catch (StatusRuntimeException e) {
            failures.add(e.getStatus().toString());
          }
          Await.sleep(Duration.ofMillis(10));
        }
      }, "load");
      load.start();
      Await.sleep(Duration.ofMinutes(2));
      running.set(false);
      load.join();

      org.slf4j.LoggerFactory.getLogger(MeshGrpcCertificateRotationIT.class).info(
          "two minutes of 30-second certificates: {} RPCs succeeded, {} failed; certificates issued {}", ok.get(),
          failures.size(), issued);
      assertThat(failures).as("failed RPCs").isEmpty();
      assertThat(ok.get()).isGreaterThan(1_000);
      assertThat(issued).hasSize(2).allSatisfy((identity, count) -> assertThat(count.get()).isBetween(6, 12));
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      client.close();
      greeterMesh.close();
    }
  }
}
