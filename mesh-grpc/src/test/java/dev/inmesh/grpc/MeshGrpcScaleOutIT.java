package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.EtcdCluster;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.GreeterBackend;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A grpc-xds channel of a Mesh given two mesh-control replicas on etcd: when the replica its xDS
 * stream is on dies, the stream moves to the other one, no call fails, and config applied there
 * reaches the channel.
 */
class MeshGrpcScaleOutIT {
  private static final String ROUTE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: greeter
      spec:
        host: greeter
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: greeter
      spec:
        hosts: [greeter]
        http:
        - route:
          - destination: {host: greeter, subset: %s}
      """;

  @TempDir
  Path dir;

  private MeshControl replica(EtcdCluster etcd) throws Exception {
    return MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds()
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100))
        .withEtcd(MeshControlOptions.Etcd.of(etcd.endpoints()).withLeaseTtl(Duration.ofSeconds(3))));
  }

  @Test
  void aGrpcChannelMovesToTheOtherReplicaWithoutAFailedCallAndTakesConfigFromIt() throws Exception {
    try (EtcdCluster etcd = EtcdCluster.start(Files.createDirectories(dir.resolve("etcd")), 3);
        MeshControl a = replica(etcd);
        MeshControl b = replica(etcd);
        GreeterBackend v1 = GreeterBackend.start(dev.inmesh.testing.ControlPlaneAccess.insecure("127.0.0.1:" + b.xdsPort()), "greeter", "default", 9000, "v1", Duration.ZERO);
        GreeterBackend v2 = GreeterBackend.start(dev.inmesh.testing.ControlPlaneAccess.insecure("127.0.0.1:" + b.xdsPort()), "greeter", "default", 9000, "v2", Duration.ZERO);
        Mesh mesh = Mesh.builder().controlServers("127.0.0.1:" + a.xdsPort(), "127.0.0.1:" + b.xdsPort())
            .namespace("default").build()) {
      Await.until(() -> a.workloads().size() == 2, Duration.ofSeconds(10), "replica A to see both backends");
      assertThat(a.apply("it", ROUTE.formatted("v1")).accepted()).isTrue();
      ManagedChannel channel = MeshGrpc.channel(mesh, "greeter:9000");
      try {
        Await.until(() -> answer(channel).equals("v1"), Duration.ofSeconds(20), "an answer from v1");
        assertThat(a.clients()).anyMatch(c -> c.nodeId().contains("~grpc~"));

        AtomicInteger calls = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        // stopped by a flag: an interrupt landing inside a call would cancel it and count as a failure
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread load = new Thread(() -> {
          long end = System.currentTimeMillis() + 60_000;
          while (!stop.get() && System.currentTimeMillis() < end) {
            String answer = answer(channel);
            calls.incrementAndGet();
            if (!answer.equals("v1") && !answer.equals("v2")) {
              failures.add(answer);
            }
            try {
              Thread.sleep(15);
            } catch (InterruptedException e) {
              return;
            }
          }
        }, "grpc-steady-load");
        load.start();
        Await.sleep(Duration.ofMillis(300));
        a.close();
        assertThat(b.apply("it", ROUTE.formatted("v2")).accepted()).isTrue();
        long start = System.nanoTime();
        Await.until(() -> answer(channel).equals("v2"), Duration.ofSeconds(30), "config from replica B to reach the channel");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        stop.set(true);
        load.join();

        System.out.println("scale-out (grpc-xds): replica A closed under load; " + calls.get() + " calls, " + failures.size()
            + " failed; replica B's config reached the channel " + millis + " ms after it was applied");
        assertThat(failures).isEmpty();
        assertThat(b.clients()).anyMatch(c -> c.nodeId().contains("~grpc~"));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static String answer(ManagedChannel channel) {
    try {
      return Greeter.versionOf(Greeter.sayHello(channel, "mesh", Map.of(), Duration.ofSeconds(5)));
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode() + ": " + e.getStatus().getDescription();
    }
  }
}
