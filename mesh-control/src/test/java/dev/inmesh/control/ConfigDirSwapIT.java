package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A deploy that replaces the config directory ({@code rm -rf DIR && cp -r NEW DIR}), over and
 * over, with the directory gone for up to half a second each time (mesh-control polls it every
 * 100 ms), while a client calls a service that a DENY policy in that directory refuses. Not one
 * call may get through.
 */
class ConfigDirSwapIT {
  private static final String DENY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: greeter, namespace: default}
      spec:
        selector: {matchLabels: {app: greeter}}
        action: DENY
        rules:
        - to:
          - operation: {paths: ["/inmesh.testing.Greeter/*"]}
      """;

  private static final String RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: greeter, namespace: default}
      spec:
        host: greeter
        trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
      """;

  @TempDir
  Path dir;

  @Test
  void swappingTheConfigDirectoryUnderLoadLetsNoDeniedCallThrough() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    Path release = Files.createDirectories(dir.resolve("release"));
    Files.writeString(release.resolve("authz.yaml"), DENY);
    Files.writeString(release.resolve("routes.yaml"), RULE);
    Files.writeString(config.resolve("routes.yaml"), RULE);
    try (MeshFixture mesh = new MeshFixture(config, Duration.ofSeconds(1));
        XdsGreeterServer server = XdsGreeterServer.start(mesh.access(), "greeter", "default", 9000, "v1")) {
      mesh.awaitWorkloads(1);
      ManagedChannel client = mesh.client();
      MeshFixture.awaitAnswerFrom(client, "v1", Map.of());
      Files.writeString(config.resolve("authz.yaml"), DENY);
      MeshFixture.await(() -> MeshFixture.split(client, 1, Map.of()).containsKey("PERMISSION_DENIED"), Duration.ofSeconds(15),
          "the DENY policy");

      AtomicBoolean done = new AtomicBoolean();
      AtomicInteger swaps = new AtomicInteger();
      Thread deploys = new Thread(() -> {
        SplittableRandom random = new SplittableRandom(7);
        while (!done.get()) {
          double gap = random.nextInt(500) / 1000.0;
          try {
            Process swap = new ProcessBuilder("sh", "-c", "rm -rf '" + config + "' && sleep " + gap + " && cp -r '" + release
                + "' '" + config + "'").inheritIO().start();
            swap.waitFor(10, TimeUnit.SECONDS);
            swaps.incrementAndGet();
            Thread.sleep(random.nextInt(300));
          } catch (Exception e) {
            return;
          }
        }
      });
      deploys.start();
      Map<String, Integer> outcomes = new TreeMap<>();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
      while (System.nanoTime() < end) {
        MeshFixture.split(client, 10, Map.of()).forEach((outcome, n) -> outcomes.merge(outcome, n, Integer::sum));
      }
      done.set(true);
      deploys.join(10_000);

      assertThat(swaps.get()).as("deploys done meanwhile").isGreaterThan(10);
      assertThat(outcomes).as("every call refused while the directory came and went").containsOnlyKeys("PERMISSION_DENIED");
      assertThat(mesh.control.resources()).extracting(r -> r.key().name()).containsExactlyInAnyOrder("greeter", "greeter");
    }
  }
}
