package dev.inmesh.benchmarks.loopback;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server process the harness runs beside the JVM: Debian's nginx as the backend, HAProxy as the
 * sidecar stand-in. Each runs in the foreground with one worker, its config in a temporary
 * directory; {@link #cpuMillis()} and {@link #rssKilobytes()} read the CPU it has used and the memory
 * it holds from {@code /proc}.
 */
final class External implements AutoCloseable {
  /** The body nginx answers: 1 KB. */
  static final String BODY = "x".repeat(1023) + "\n";
  private static final long TICKS_PER_SECOND = 100;

  private final String name;
  private final Process process;
  final int port;

  private External(String name, Process process, int port) {
    this.name = name;
    this.process = process;
    this.port = port;
  }

  static External nginx(Path dir, int port) throws IOException, InterruptedException {
    Path home = Files.createDirectories(dir.resolve("nginx-" + port));
    String server = """
        server {
          listen 127.0.0.1:%d;
          location / { return 200 "%s"; }
        }
        """.formatted(port, BODY.replace("\n", "\\n"));
    return nginx("nginx", home, server, port);
  }

  /** nginx, one worker in the foreground, with {@code server} (its {@code server} and {@code upstream} blocks) in its {@code http} block. */
  static External nginx(String name, Path home, String server, int port) throws IOException, InterruptedException {
    Path conf = home.resolve("nginx.conf");
    Files.writeString(conf, """
        worker_processes 1;
        master_process off;
        daemon off;
        pid %1$s/nginx.pid;
        error_log %1$s/error.log warn;
        events { worker_connections 4096; }
        http {
          access_log off;
          client_body_temp_path %1$s/body;
          proxy_temp_path %1$s/proxy;
          fastcgi_temp_path %1$s/fastcgi;
          uwsgi_temp_path %1$s/uwsgi;
          scgi_temp_path %1$s/scgi;
          keepalive_requests 10000000;
          keepalive_timeout 300s;
          default_type text/plain;
        %2$s
        }
        """.formatted(home, server.indent(2)));
    return start(name, List.of(binary("nginx", "/usr/sbin/nginx"), "-c", conf.toString(), "-p",
        home.toString(), "-e", home.resolve("error.log").toString()), port, home, Duration.ofSeconds(10));
  }

  /** One HAProxy hop from {@code port} to {@code target}, keeping connections to the target alive. */
  static External haproxy(Path dir, int port, int target) throws IOException, InterruptedException {
    Path home = Files.createDirectories(dir.resolve("haproxy-" + port));
    Path conf = home.resolve("haproxy.cfg");
    Files.writeString(conf, """
        global
          nbthread 1
          maxconn 4096
        defaults
          mode http
          timeout connect 5s
          timeout client 60s
          timeout server 60s
          option http-keep-alive
        frontend in
          bind 127.0.0.1:%d
          default_backend out
        backend out
          http-reuse always
          server upstream 127.0.0.1:%d
        """.formatted(port, target));
    return start("haproxy", List.of(binary("haproxy", "/usr/sbin/haproxy"), "-db", "-f", conf.toString()), port, home, Duration.ofSeconds(10));
  }

  static String binary(String name, String path) {
    if (!Files.isExecutable(Path.of(path))) {
      throw new IllegalStateException(name + " is not installed at " + path + ": apt-get install -y nginx haproxy");
    }
    return path;
  }

  /** Starts {@code command} with its output in {@code home/output.log} and waits for it to accept connections on {@code port}. */
  static External start(String name, List<String> command, int port, Path home, Duration ready)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(home.resolve("output.log").toFile()).start();
    long deadline = System.nanoTime() + ready.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException(name + " exited with " + process.exitValue() + ": "
            + Files.readString(home.resolve("output.log"), StandardCharsets.UTF_8));
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return new External(name, process, port);
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    process.destroyForcibly();
    throw new IOException(name + " did not listen on " + port + " within " + ready.toSeconds() + " s: "
        + Files.readString(home.resolve("output.log"), StandardCharsets.UTF_8));
  }

  long pid() {
    return process.pid();
  }

  /** User and system CPU the process has used, from {@code /proc/<pid>/stat} (10 ms resolution). */
  long cpuMillis() {
    try {
      return statCpuMillis(Files.readString(Path.of("/proc/" + process.pid() + "/stat")));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the CPU time of " + name + " (pid " + process.pid() + ")", e);
    }
  }

  /** The memory the process holds now (its resident set), from {@code /proc/<pid>/status}. */
  long rssKilobytes() {
    try {
      return statusRssKilobytes(Files.readString(Path.of("/proc/" + process.pid() + "/status")));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the memory of " + name + " (pid " + process.pid() + ")", e);
    }
  }

  /** The {@code VmRSS} line of a {@code /proc/<pid>/status} file, in kB. */
  static long statusRssKilobytes(String status) {
    return status.lines().filter(line -> line.startsWith("VmRSS:")).findFirst()
        .map(line -> Long.parseLong(line.substring("VmRSS:".length()).replace("kB", "").trim()))
        .orElseThrow(() -> new IllegalArgumentException("no VmRSS line in /proc/<pid>/status"));
  }

  /** The user and system CPU in a {@code /proc/…/stat} line (a process's or a thread's), in ms. */
  static long statCpuMillis(String stat) {
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // after the command: state(0) … utime(11) stime(12)
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    return ticks * 1000 / TICKS_PER_SECOND;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }

  @Override
  public String toString() {
    return name + " on " + port;
  }
}
