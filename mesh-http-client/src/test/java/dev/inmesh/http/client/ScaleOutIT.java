package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.xds.ClientStatus;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.EtcdCluster;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.LeaseOption;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10's "must show", on real parts: two mesh-control replicas on a real 3-member etcd
 * cluster, MockWebServer backends that register with both, and a {@link Mesh} with its OkHttp
 * client. Steady load is a call every 15 ms; every call must answer from a backend.
 */
class ScaleOutIT {
  private static final String URL = "http://reviews:9080/reviews/1";
  private static final Duration LEASE_TTL = Duration.ofSeconds(3);

  @TempDir
  static Path dir;
  static EtcdCluster etcd;
  private static final AtomicInteger tests = new AtomicInteger();

  private final String prefix = "/scale-out-" + tests.incrementAndGet() + "/";
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void startEtcd() throws IOException {
    etcd = EtcdCluster.start(Files.createDirectories(dir.resolve("etcd")), 3);
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private MeshControl replica(int xdsPort) throws IOException {
    MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds().withPorts(xdsPort, 0)
        .withGracePeriod(Duration.ofSeconds(2)).withPollInterval(Duration.ofMillis(100))
        .withEtcd(MeshControlOptions.Etcd.of(etcd.endpoints()).withPrefix(prefix).withLeaseTtl(LEASE_TTL)));
    closeables.add(control);
    return control;
  }

  private static String address(MeshControl control) {
    return "127.0.0.1:" + control.xdsPort();
  }

  private HttpBackend backend(String version, MeshControl... replicas) throws IOException {
    HttpBackend backend = new HttpBackend(dev.inmesh.testing.ControlPlaneAccess.insecure(address(replicas[0])),
        List.of(replicas).stream().map(ScaleOutIT::address).toList(), "reviews", 9080, version);
    closeables.add(backend);
    return backend;
  }

  private OkHttpClient client(MeshControl... replicas) {
    Mesh mesh = Mesh.builder().controlServers(List.of(replicas).stream().map(ScaleOutIT::address).toArray(String[]::new))
        .namespace("default").readyTimeout(Duration.ofSeconds(10)).build();
    closeables.add(mesh);
    return MeshHttp.client(mesh);
  }

  private static String route(String version) {
    return HttpMesh.DESTINATION_RULE + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: %s}
        """.formatted(version);
  }

  private static void apply(MeshControl replica, String yaml) {
    assertThat(replica.apply("scale-out-it", yaml).accepted()).isTrue();
  }

  private static void awaitWorkloads(int count, MeshControl... replicas) {
    for (MeshControl replica : replicas) {
      Await.until(() -> replica.workloads().size() == count, Duration.ofSeconds(10), count + " workloads on a replica",
          () -> replica.workloads().toString());
    }
  }

  private static void awaitClients(MeshControl replica, int count) {
    Await.until(() -> replica.clients().stream().map(ClientStatus::nodeId).distinct().count() == count,
        Duration.ofSeconds(15), count + " clients on the replica", () -> replica.clients().toString());
  }

  @Test
  void aConfigAppliedThroughReplicaAReachesAClientOfReplicaBWithinTwoSeconds() throws Exception {
    MeshControl a = replica(0);
    MeshControl b = replica(0);
    backend("v1", a, b);
    backend("v2", a, b);
    awaitWorkloads(2, a, b);
    apply(a, route("v1"));
    OkHttpClient client = client(b);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    assertThat(a.clients()).noneMatch(c -> c.nodeId().startsWith("client~"));
    assertThat(b.clients()).anyMatch(c -> c.nodeId().startsWith("client~"));

    long start = System.nanoTime();
    apply(a, route("v2"));
    long deadline = start + Duration.ofSeconds(5).toNanos();
    while (!HttpMesh.get(client, URL, Map.of()).equals("v2") && System.nanoTime() < deadline) {
      HttpMesh.sleep(Duration.ofMillis(2));
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    System.out.println("scale-out: a config applied through replica A reached replica B's client in " + millis + " ms");
    assertThat(millis).isLessThan(2_000);
  }

  @Test
  void whenAReplicaDiesItsClientsMoveToTheOtherAndNoCallFails() throws Exception {
    MeshControl a = replica(0);
    MeshControl b = replica(0);
    backend("v1", a, b);
    backend("v2", a, b);
    awaitWorkloads(2, a, b);
    apply(a, route("v1"));
    OkHttpClient client = client(a, b);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    awaitClients(a, 3);

    SteadyLoad load = SteadyLoad.start(client, URL, Set.of("v1"));
    closeables.add(load);
    HttpMesh.sleep(Duration.ofMillis(500));
    int before = load.calls();
    a.close();
    awaitClients(b, 3);
    awaitWorkloads(2, b);
    HttpMesh.sleep(Duration.ofSeconds(1));
    int calls = load.stop();

    System.out.println("scale-out: replica killed under load: " + calls + " calls (" + (calls - before)
        + " after the kill), " + load.failures().size() + " failed");
    assertThat(load.failures()).isEmpty();
    assertThat(calls - before).isGreaterThan(50);
    apply(b, route("v2"));
    HttpMesh.awaitAnswer(client, URL, "v2", Map.of());
  }

  @Test
  void whenTheEtcdLeaderDiesNoCallFailsAndNoRegistrationIsLost() throws Exception {
    MeshControl a = replica(0);
    MeshControl b = replica(0);
    HttpBackend v1 = backend("v1", a, b);
    HttpBackend v2 = backend("v2", a, b);
    awaitWorkloads(2, a, b);
    apply(a, route("v1"));
    OkHttpClient client = client(a, b);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());

    SteadyLoad load = SteadyLoad.start(client, URL, Set.of("v1"));
    closeables.add(load);
    AtomicLong fewest = new AtomicLong(2);
    Thread watcher = new Thread(() -> {
      long end = System.currentTimeMillis() + 60_000;
      while (load.calls() >= 0 && System.currentTimeMillis() < end && !Thread.currentThread().isInterrupted()) {
        fewest.accumulateAndGet(Math.min(a.workloads().size(), b.workloads().size()), Math::min);
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "registry-watcher");
    watcher.start();
    int leader = etcd.leader();
    etcd.kill(leader);
    // the registry's lease must outlive the election: wait well past its TTL
    HttpMesh.sleep(LEASE_TTL.multipliedBy(2));
    apply(b, HttpMesh.DESTINATION_RULE.replace("name: reviews", "name: reviews-copy"));
    Await.until(() -> a.resources().size() == 3, Duration.ofSeconds(5), "replica A to see a change made through B");
    int calls = load.stop();
    watcher.interrupt();
    watcher.join();
    etcd.restart(leader);

    System.out.println("scale-out: etcd leader (member " + leader + ") killed under load: " + calls + " calls, "
        + load.failures().size() + " failed; fewest workloads seen in a registry: " + fewest.get());
    assertThat(load.failures()).isEmpty();
    assertThat(fewest.get()).isEqualTo(2);
    assertThat(b.workloads()).extracting(Workload::nodeId).containsExactlyInAnyOrder(v1.nodeId(), v2.nodeId());
  }

  @Test
  void aWorkloadOfAReplicaKilledWithSigkillLeavesWhenTheLeaseExpiresAndNotBefore() throws Exception {
    MeshControl b = replica(0);
    int port = HttpMesh.freePort();
    Path log = dir.resolve("replica-a-" + prefix.replace("/", "") + ".log");
    // the standalone jar as operators run it, so a SIGKILL ends the whole replica
    Path jar = Path.of("..", "mesh-control", "target", "mesh-control.jar").toAbsolutePath().normalize();
    assertThat(jar).as("mesh-control's standalone jar; build from the root (mvn verify)").exists();
    // every replica is given the same operator credentials
    Path tokens = java.nio.file.Files.writeString(dir.resolve("api-tokens-" + prefix.replace("/", "")),
        dev.inmesh.control.api.ApiCredentials.line(dev.inmesh.control.api.Role.ADMIN, "ops",
            dev.inmesh.control.api.ApiCredentials.newToken(new java.security.SecureRandom())) + "\n");
    Process a = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString(), "--api-tokens", tokens.toString(),
        "--store", "etcd", "--etcd-endpoints", etcd.endpointsFlag(), "--etcd-prefix", prefix,
        "--lease-ttl", "4s", "--grace-period", "60s", "--ca", "none", "--insecure-xds", "--xds-port", Integer.toString(port), "--http-port", "0")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    closeables.add(a::destroyForcibly);
    Await.until(() -> accepts(port), Duration.ofSeconds(30), "replica A (a separate JVM) to serve xDS",
        () -> read(log));
    // registered on A only: nothing moves it to B when A dies
    HttpBackend v1 = new HttpBackend(dev.inmesh.testing.ControlPlaneAccess.insecure("127.0.0.1:" + port),
        List.of("127.0.0.1:" + port), "reviews", 9080, "v1");
    closeables.add(v1);
    awaitWorkloads(1, b);
    long remaining;
    try (Client reader = Client.builder().endpoints(etcd.endpoints().toArray(java.net.URI[]::new)).build()) {
      KeyValue key = reader.getKVClient().get(ByteSequence.from(prefix + "registry/" + v1.nodeId(), StandardCharsets.UTF_8))
          .get(5, TimeUnit.SECONDS).getKvs().get(0);
      remaining = reader.getLeaseClient().timeToLive(key.getLease(), LeaseOption.DEFAULT).get(5, TimeUnit.SECONDS).getTTL();
    }
    a.destroyForcibly();
    long killed = System.nanoTime();
    a.waitFor();
    Await.until(() -> b.workloads().isEmpty(), Duration.ofSeconds(15), "the workload of the killed replica to expire");
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);

    System.out.println("scale-out: replica A killed with SIGKILL; its lease had " + remaining
        + " s left (whole seconds, rounded down); its workload left replica B's registry " + millis + " ms later");
    // etcd reports the remaining TTL rounded down: the lease ends between `remaining` and `remaining + 1` s after the look-up
    assertThat(millis).isGreaterThanOrEqualTo(remaining * 1000 - 200);
    assertThat(millis).isLessThan((remaining + 1) * 1000 + 1500);
  }

  @Test
  void replicasRestartedOneByOneKeepConfigAndRegistrations() throws Exception {
    int portA = HttpMesh.freePort();
    int portB = HttpMesh.freePort();
    MeshControl a = replica(portA);
    MeshControl b = replica(portB);
    HttpBackend v1 = backend("v1", a, b);
    HttpBackend v2 = backend("v2", a, b);
    awaitWorkloads(2, a, b);
    apply(a, route("v1"));
    OkHttpClient client = client(a, b);
    HttpMesh.awaitAnswer(client, URL, "v1", Map.of());
    SteadyLoad load = SteadyLoad.start(client, URL, Set.of("v1"));
    closeables.add(load);

    a.close();
    awaitClients(b, 3);
    MeshControl a2 = replica(portA);
    assertThat(a2.resources()).hasSize(2);
    awaitWorkloads(2, a2);
    b.close();
    awaitClients(a2, 3);
    MeshControl b2 = replica(portB);
    assertThat(b2.resources()).hasSize(2);
    awaitWorkloads(2, a2, b2);
    HttpMesh.sleep(Duration.ofMillis(500));
    int calls = load.stop();

    System.out.println("scale-out: replicas restarted one by one under load: " + calls + " calls, "
        + load.failures().size() + " failed");
    assertThat(load.failures()).isEmpty();
    assertThat(b2.workloads()).extracting(Workload::nodeId).containsExactlyInAnyOrder(v1.nodeId(), v2.nodeId());
    apply(b2, route("v2"));
    HttpMesh.awaitAnswer(client, URL, "v2", Map.of());
  }

  private static boolean accepts(int port) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
