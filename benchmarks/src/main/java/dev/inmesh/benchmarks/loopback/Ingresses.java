package dev.inmesh.benchmarks.loopback;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The processes {@link GatewayHarness} compares, each with a plaintext and a TLS port in front of
 * the same nginx backend, with one worker each: nginx ({@code worker_processes 1}), HAProxy
 * ({@code nbthread 1}), mesh-gateway from its shaded jar (one Netty event loop, its 64 call
 * workers), and the two bare forwarding fronts of {@link ForwardingFront}.
 */
final class Ingresses {
  /** The TLS every ingress terminates: one P-256 certificate for 127.0.0.1, made by openssl. */
  record Certificate(Path certificate, Path key, Path combined) {
    static Certificate generate(Path dir) throws IOException, InterruptedException {
      Path certificate = dir.resolve("tls.crt");
      Path key = dir.resolve("tls.key");
      run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", key.toString(), "-out", certificate.toString(), "-days", "2", "-subj", "/CN=127.0.0.1",
          "-addext", "subjectAltName=IP:127.0.0.1"), dir);
      // HAProxy reads the chain and the key from one file
      Path combined = dir.resolve("combined.pem");
      Files.writeString(combined, Files.readString(certificate) + Files.readString(key));
      return new Certificate(certificate, key, combined);
    }
  }

  private Ingresses() {}

  /** The backend: nginx answering the 1 KB body on a plaintext and a TLS port (TLS: the direct baseline). */
  static External backend(Path dir, int port, int tlsPort, Certificate tls) throws IOException, InterruptedException {
    Path home = home(dir, "backend-" + port);
    String server = """
        server {
          listen 127.0.0.1:%d;
          listen 127.0.0.1:%d ssl;
          ssl_certificate %s;
          ssl_certificate_key %s;
          location / { return 200 "%s"; }
        }
        """.formatted(port, tlsPort, tls.certificate(), tls.key(), External.BODY.replace("\n", "\\n"));
    return External.nginx("backend", home, server, port);
  }

  /** nginx as a reverse proxy, keeping up to 64 idle connections to the backend (its {@code upstream keepalive}). */
  static External nginxProxy(Path dir, int port, int tlsPort, Certificate tls, int backendPort)
      throws IOException, InterruptedException {
    Path home = home(dir, "nginx-proxy-" + port);
    String server = """
        upstream backend {
          server 127.0.0.1:%5$d;
          keepalive 64;
        }
        server {
          listen 127.0.0.1:%1$d;
          listen 127.0.0.1:%2$d ssl;
          ssl_certificate %3$s;
          ssl_certificate_key %4$s;
          location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
          }
        }
        """.formatted(port, tlsPort, tls.certificate(), tls.key(), backendPort);
    return External.nginx("nginx", home, server, port);
  }

  /**
   * HAProxy with one thread, TLS terminated on {@code tlsPort}, connections to the backend kept and
   * shared; idle client connections kept 5 minutes, as nginx's {@code keepalive_timeout} and
   * mesh-gateway's idle timeout here.
   */
  static External haproxy(Path dir, int port, int tlsPort, Certificate tls, int backendPort)
      throws IOException, InterruptedException {
    Path home = home(dir, "haproxy-" + port);
    Path conf = home.resolve("haproxy.cfg");
    Files.writeString(conf, """
        global
          nbthread 1
          maxconn 4096
        defaults
          mode http
          timeout connect 5s
          timeout client 5m
          timeout server 5m
          option http-keep-alive
        frontend in
          bind 127.0.0.1:%d
          bind 127.0.0.1:%d ssl crt %s
          default_backend out
        backend out
          http-reuse always
          server upstream 127.0.0.1:%d
        """.formatted(port, tlsPort, tls.combined(), backendPort));
    return External.start("haproxy", List.of(External.binary("haproxy", "/usr/sbin/haproxy"), "-db", "-f",
        conf.toString()), port, home, Duration.ofSeconds(10));
  }

  /**
   * mesh-gateway as its own process from the shaded jar, with one Netty event loop, serving Gateway
   * ports 8080 (HTTP) and 8443 (HTTPS) on {@code port} and {@code tlsPort}, its access log off; its
   * config and certificate come from the mesh-control and CA of {@code control}. {@code jvmOptions}
   * are added to its JVM's (a JFR recording, say).
   */
  static External gateway(Path dir, Path jar, List<String> jvmOptions, int port, int tlsPort,
      GatewayHarness.ControlPlane control)
      throws IOException, InterruptedException {
    Path home = home(dir, "mesh-gateway-" + port);
    // no access log, as nginx and HAProxy are configured here (and Istio's default profile)
    Path logback = Files.writeString(home.resolve("logback.xml"), """
        <configuration>
          <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
            <target>System.err</target>
            <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n</pattern></encoder>
          </appender>
          <logger name="inmesh.access" level="OFF"/>
          <logger name="io.grpc" level="WARN"/>
          <logger name="io.netty" level="WARN"/>
          <root level="INFO"><appender-ref ref="STDERR"/></root>
        </configuration>
        """);
    List<String> command = new ArrayList<>(List.of(java(), "-Dio.netty.eventLoopThreads=1",
        "-Dlogback.configurationFile=" + logback));
    command.addAll(jvmOptions);
    command.addAll(List.of("-jar", jar.toString(),
        "--control-servers", "127.0.0.1:" + control.xdsPort(), "--ca", "127.0.0.1:" + control.caPort(),
        "--ca-root", control.rootFile().toString(), "--join-token-file", control.tokenFile().toString(),
        "--credentials-dir", control.credentialsDir().toString(), "--bind", "127.0.0.1",
        "--port", "8080=" + port, "--port", "8443=" + tlsPort));
    return External.start("mesh-gateway", command, tlsPort, home, Duration.ofSeconds(60));
  }

  /** A {@link ForwardingFront} as its own process, on this JVM's class path. */
  static External front(Path dir, ForwardingFront.Library library, int port, int backendPort)
      throws IOException, InterruptedException {
    Path home = home(dir, library.name().toLowerCase() + "-front-" + port);
    // the JDK's HttpServer leaves Nagle's algorithm on unless told: 40 ms per answer with delayed ACKs
    return External.start(library.label(), List.of(java(), "-Dsun.net.httpserver.nodelay=true", "-cp",
        System.getProperty("java.class.path"), ForwardingFront.class.getName(), library.name(), Integer.toString(port), Integer.toString(backendPort)), port,
        home, Duration.ofSeconds(30));
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static Path home(Path dir, String name) throws IOException {
    return Files.createDirectories(dir.resolve(name));
  }

  private static void run(List<String> command, Path dir) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
  }
}
