package dev.inmesh.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A real etcd cluster of several members on loopback, each a Debian {@code etcd} process with
 * its own data directory under the given one and its own free client and peer ports. Elections
 * are tuned short (50 ms heartbeats, 500 ms election timeout) so that losing a member costs
 * well under a second. {@link #close()} kills every member it started.
 */
public final class EtcdCluster implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Path dir;
  private final String binary;
  private final List<Integer> clientPorts;
  private final List<Integer> peerPorts;
  private final List<Integer> metricsPorts;
  private final Process[] members;
  private final java.util.Optional<Tls> tls;

  /**
   * TLS for clients and peers: every member serves {@code server} and requires a client
   * certificate from {@code ca}, from clients and from its peers alike.
   */
  public record Tls(Path ca, OpensslPki.Pair server) {}

  private EtcdCluster(Path dir, String binary, int size, java.util.Optional<Tls> tls) {
    this.dir = dir;
    this.binary = binary;
    this.tls = tls;
    List<Integer> ports = freePorts(3 * size);
    this.clientPorts = ports.subList(0, size);
    this.peerPorts = ports.subList(size, 2 * size);
    this.metricsPorts = ports.subList(2 * size, 3 * size);
    this.members = new Process[size];
  }

  /**
   * Starts {@code size} members in {@code dir} and waits until each reports itself healthy.
   *
   * @throws AssertionError saying how to install etcd when there is no {@code etcd} binary
   */
  public static EtcdCluster start(Path dir, int size) {
    return start(dir, size, java.util.Optional.empty());
  }

  /** As {@link #start(Path, int)}, with TLS and client certificates for clients and peers. */
  public static EtcdCluster startTls(Path dir, int size, Tls tls) {
    return start(dir, size, java.util.Optional.of(tls));
  }

  private static EtcdCluster start(Path dir, int size, java.util.Optional<Tls> tls) {
    EtcdCluster cluster = new EtcdCluster(dir, binary(), size, tls);
    try {
      for (int i = 0; i < size; i++) {
        cluster.startMember(i, "new");
      }
      for (int i = 0; i < size; i++) {
        cluster.awaitHealthy(i);
      }
      return cluster;
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  /** {@code http://127.0.0.1:PORT} (https with TLS) of every member, as a client's endpoint list. */
  public List<URI> endpoints() {
    return clientPorts.stream().map(port -> URI.create(scheme() + "://127.0.0.1:" + port)).toList();
  }

  private String scheme() {
    return tls.isPresent() ? "https" : "http";
  }

  /** The endpoints as {@code --etcd-endpoints} takes them. */
  public String endpointsFlag() {
    return endpoints().stream().map(URI::toString).collect(Collectors.joining(","));
  }

  public int size() {
    return members.length;
  }

  /** The index of the member that leads now, as the members' own status (the v3 JSON gateway) says. */
  public int leader() {
    if (tls.isPresent()) {
      throw new UnsupportedOperationException("leader() asks members over plain HTTP; this cluster requires TLS");
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    for (int i = 0; i < members.length; i++) {
      if (members[i] == null) {
        continue;
      }
      HttpRequest status = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + clientPorts.get(i) + "/v3/maintenance/status"))
          .timeout(Duration.ofSeconds(2)).POST(HttpRequest.BodyPublishers.ofString("{}")).build();
      try {
        String body = http.send(status, HttpResponse.BodyHandlers.ofString()).body();
        java.util.regex.Matcher member = java.util.regex.Pattern.compile("\"member_id\":\"(\\d+)\"").matcher(body);
        java.util.regex.Matcher leader = java.util.regex.Pattern.compile("\"leader\":\"(\\d+)\"").matcher(body);
        if (member.find() && leader.find() && member.group(1).equals(leader.group(1))) {
          return i;
        }
      } catch (IOException e) {
        // not answering: not the leader we are looking for
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    throw new IllegalStateException("no member says it leads");
  }

  /** Kills member {@code index} with SIGKILL and waits until its process is gone. */
  public void kill(int index) {
    Process member = members[index];
    if (member == null) {
      return;
    }
    member.destroyForcibly();
    try {
      member.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    members[index] = null;
  }

  /** Starts a killed member again on its data directory and waits until it is healthy. */
  public void restart(int index) {
    if (members[index] != null) {
      throw new IllegalStateException("member " + index + " is running");
    }
    startMember(index, "existing");
    awaitHealthy(index);
  }

  private void startMember(int index, String state) {
    String cluster = IntStream.range(0, members.length)
        .mapToObj(i -> name(i) + "=" + scheme() + "://127.0.0.1:" + peerPorts.get(i))
        .collect(Collectors.joining(","));
    String client = scheme() + "://127.0.0.1:" + clientPorts.get(index);
    String peer = scheme() + "://127.0.0.1:" + peerPorts.get(index);
    List<String> command = new ArrayList<>(List.of(binary,
        "--name", name(index),
        "--data-dir", dir.resolve(name(index)).toString(),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", cluster, "--initial-cluster-state", state,
        "--initial-cluster-token", "inmesh-test-" + dir.getFileName(),
        "--heartbeat-interval", "50", "--election-timeout", "500",
        // health in plain HTTP on a port of its own, whatever the client port requires
        "--listen-metrics-urls", "http://127.0.0.1:" + metricsPorts.get(index)));
    tls.ifPresent(t -> command.addAll(List.of(
        "--cert-file", t.server().certificate().toString(), "--key-file", t.server().key().toString(),
        "--trusted-ca-file", t.ca().toString(), "--client-cert-auth",
        "--peer-cert-file", t.server().certificate().toString(), "--peer-key-file", t.server().key().toString(),
        "--peer-trusted-ca-file", t.ca().toString(), "--peer-client-cert-auth")));
    try {
      members[index] = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name(index) + ".log").toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + binary, e);
    }
  }

  private void awaitHealthy(int index) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPorts.get(index) + "/health"))
        .timeout(Duration.ofSeconds(2)).build();
    Await.until(() -> {
      if (members[index] == null || !members[index].isAlive()) {
        throw new AssertionError("etcd member " + index + " exited; its log: " + log(index));
      }
      try {
        return http.send(health, HttpResponse.BodyHandlers.ofString()).body().contains("\"health\":\"true\"");
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }, START_TIMEOUT, "etcd member " + index + " to be healthy", () -> log(index));
  }

  private String log(int index) {
    try {
      String log = Files.readString(dir.resolve(name(index) + ".log"));
      return log.length() > 2000 ? log.substring(log.length() - 2000) : log;
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static String name(int index) {
    return "m" + index;
  }

  private static String binary() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path candidate = Path.of(dir, "etcd");
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    if (Files.isExecutable(Path.of("/usr/bin/etcd"))) {
      return "/usr/bin/etcd";
    }
    throw new AssertionError("no etcd on this machine: the scale-out tests run a real etcd cluster; "
        + "install it with `apt-get install etcd-server` (.ci/run does)");
  }

  private static List<Integer> freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port", e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException e) {
          // the port is free again either way
        }
      }
    }
  }

  /** Kills every member still running. */
  @Override
  public void close() {
    for (int i = 0; i < members.length; i++) {
      kill(i);
    }
  }
}
