package dev.inmesh.internal.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.inmesh.Locality;
import dev.inmesh.MeshConfig;
import dev.inmesh.Ticker;
import dev.inmesh.inbound.DoorConfig;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The door over real loopback sockets, with the policy set by the test instead of mesh-control. */
class FrontDoorTest {
  private static final DoorConfig DOOR = DoorConfig.defaults().withHeaderTimeout(Duration.ofSeconds(5))
      .withMaxConnections(8).withMaxConnectionsPerSource(4);
  private final AtomicReference<Optional<InboundPolicy>> policy = new AtomicReference<>(Optional.empty());
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private ServerSocket backend;
  private Thread backendThread;
  private FrontDoor door;
  private int port;

  @BeforeEach
  void start() throws IOException {
    backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    backendThread = new Thread(this::serveBackend, "test-backend");
    backendThread.setDaemon(true);
    backendThread.start();
    startDoor(DOOR);
  }

  /** (Re)starts the door on a new port with {@code config}. */
  private void startDoor(DoorConfig config) throws IOException {
    if (door != null) {
      door.close();
    }
    port = freePort();
    MeshConfig mesh = new MeshConfig(List.of("127.0.0.1:15010"), "default", Optional.of("reviews"), "reviews",
        Map.of("app", "reviews"), Locality.UNKNOWN, "127.0.0.1", List.of(new ServicePort("http", 9080, port, "HTTP")),
        Duration.ofSeconds(1));
    door = new FrontDoor(new FrontDoor.Settings(port, InetAddress.getLoopbackAddress(),
        (InetSocketAddress) backend.getLocalSocketAddress(), p -> policy.get(), Optional.empty(),
        new InboundMetrics(DoorGateTest.recorder(registry, mesh), "http"), Clock.systemUTC(), Ticker.system(), config,
        java.util.List.of()));
    door.start();
  }

  @AfterEach
  void stop() throws IOException {
    door.close();
    backend.close();
  }

  /**
   * Answers each connection after the client has half-closed: the peer the door recorded for this
   * connection's remote port, and the line the client sent; to the line {@code hold}, nothing.
   */
  private void serveBackend() {
    while (!backend.isClosed()) {
      try {
        Socket socket = backend.accept();
        Thread thread = new Thread(() -> {
          try (socket) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line = in.readLine();
            if ("hold".equals(line)) {
              // answers nothing: the client's connection stays open and idle
              while (in.read() >= 0) {
                continue;
              }
              return;
            }
            boolean sawEnd = in.read() < 0;
            Optional<PeerInfo> peer = door.connections().peer(socket.getInetAddress(), socket.getPort());
            String answer = line + "|" + sawEnd + "|" + peer.map(p -> p.security() + " " + p.source().getPort()).orElse("none");
            socket.getOutputStream().write((answer + "\n").getBytes(StandardCharsets.UTF_8));
          } catch (IOException e) {
            // the test closed the door under it
          }
        });
        thread.setDaemon(true);
        thread.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private void setMode(MtlsMode mode) {
    policy.set(Optional.of(new InboundPolicy("inbound|" + port, port, mode, AuthorizationEngine.EMPTY)));
  }

  private double closed(String reason) {
    var counter = registry.find(InboundMetrics.CLOSED_CONNECTIONS).tags("reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }

  /** A client connected from {@code source}, a loopback address, with {@code bytes} sent. */
  private Socket connect(String source, String bytes) throws IOException {
    Socket client = new Socket();
    client.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
    client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
    client.setSoTimeout(5000);
    client.getOutputStream().write(bytes.getBytes(StandardCharsets.US_ASCII));
    client.getOutputStream().flush();
    return client;
  }

  private double refused(String reason) {
    var counter = registry.find(InboundMetrics.CONNECTIONS).tags("security_policy", "refused", "reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }

  /** Sends {@code bytes}, half-closes, and reads until the door closes; null when it refused. */
  private String exchange(byte[] bytes) throws IOException {
    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
      client.setSoTimeout(5000);
      OutputStream out = client.getOutputStream();
      out.write(bytes);
      out.flush();
      client.shutdownOutput();
      InputStream in = client.getInputStream();
      byte[] answer = in.readAllBytes();
      return answer.length == 0 ? null : new String(answer, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      if (e.getMessage() != null && e.getMessage().contains("reset")) {
        return null;
      }
      throw e;
    }
  }

  @Test
  void relaysPlaintextUnderPermissiveAndTheBackendFindsThePeerByItsRemotePort() throws IOException {
    setMode(MtlsMode.PERMISSIVE);
    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
      client.setSoTimeout(5000);
      client.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();

      // the first byte the door read to sniff is not lost; the half-close reached the backend, and
      // the answer written after it came back
      assertThat(answer).isEqualTo("hello|true|NONE " + client.getLocalPort());
    }
    await("the relay to leave the table").atMost(Duration.ofSeconds(10)).until(() -> door.connections().size() == 0);
    assertThat(registry.get(InboundMetrics.CONNECTIONS).tags("security_policy", "none", "reason", "accepted").counter().count())
        .isEqualTo(1);
  }

  @Test
  void withoutAPolicyTheDoorFailsClosed() throws IOException {
    assertThat(exchange("hello\n".getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(refused("no_policy")).isEqualTo(1);
  }

  @Test
  void strictRefusesPlaintextAndCountsWhy() throws IOException {
    setMode(MtlsMode.STRICT);
    assertThat(exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(refused("plaintext_under_strict")).isEqualTo(1);
  }

  @Test
  void disableRefusesATlsHandshake() throws IOException {
    setMode(MtlsMode.DISABLE);
    assertThat(exchange(new byte[] {0x16, 0x03, 0x01, 0x00, 0x05})).isNull();
    assertThat(refused("tls_under_disable")).isEqualTo(1);
  }

  @Test
  void theModeIsReadPerConnection() throws IOException {
    setMode(MtlsMode.DISABLE);
    assertThat(exchange("one\n".getBytes(StandardCharsets.UTF_8))).startsWith("one|true|NONE");
    setMode(MtlsMode.STRICT);
    assertThat(exchange("two\n".getBytes(StandardCharsets.UTF_8))).isNull();
  }

  @Test
  void closeEndsEveryRelayAndLeavesNoThreadBehind() throws Exception {
    setMode(MtlsMode.PERMISSIVE);
    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
      client.setSoTimeout(5000);
      client.getOutputStream().write("hold\n\n".getBytes(StandardCharsets.UTF_8));
      await("the relay to start").atMost(Duration.ofSeconds(10)).until(() -> door.connections().size() == 1);

      door.close();

      assertThat(client.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(door.connections().size()).isZero();
    assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("inmesh-door-" + port) && t.isAlive());
  }

  @Test
  void aClientThatSendsOneByteIsClosedAtTheHeaderTimeout() throws IOException {
    startDoor(DOOR.withHeaderTimeout(Duration.ofMillis(300)));
    setMode(MtlsMode.PERMISSIVE);
    try (Socket client = connect("127.0.0.1", "G")) {
      long start = System.nanoTime();

      assertThat(client.getInputStream().read()).isEqualTo(-1);

      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(250));
    }
    await("the slow connection to be counted and gone").atMost(Duration.ofSeconds(10)).until(() -> closed("header_timeout") == 1 && door.connections().size() == 0);
  }

  @Test
  void aConnectionWhoseHeadHasArrivedIsClosedOnceIdle() throws IOException {
    startDoor(DOOR.withHeaderTimeout(Duration.ofMillis(300)).withIdleTimeout(Duration.ofMillis(600)));
    setMode(MtlsMode.PERMISSIVE);
    try (Socket client = connect("127.0.0.1", "hold\n\n")) {
      long start = System.nanoTime();

      assertThat(client.getInputStream().read()).isEqualTo(-1);

      // the head ended the header timeout; the idle timeout closed it
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(550));
    }
    await("the idle connection to be counted").atMost(Duration.ofSeconds(10)).until(() -> closed("idle_timeout") == 1);
    assertThat(closed("header_timeout")).isZero();
  }

  @Test
  void oneAddressHoldsNoMoreThanItsShareAndOthersStillGetIn() throws IOException {
    setMode(MtlsMode.PERMISSIVE);
    List<Socket> held = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < DOOR.maxConnectionsPerSource(); i++) {
        held.add(connect("127.0.0.2", "hold\n\n"));
      }
      await("the relays to start").atMost(Duration.ofSeconds(10)).until(() -> door.connections().size() == DOOR.maxConnectionsPerSource());

      try (Socket another = connect("127.0.0.2", "one too many\n")) {
        assertThat(another.getInputStream().read()).isEqualTo(-1);
      }
      assertThat(refused("source_limit")).isEqualTo(1);
      assertThat(exchange("from elsewhere\n".getBytes(StandardCharsets.UTF_8))).startsWith("from elsewhere|true|NONE");
    } finally {
      for (Socket socket : held) {
        socket.close();
      }
    }
  }

  @Test
  void theBackendSeesNothingOfAConnectionUntilItsFirstHeadIsComplete() throws Exception {
    setMode(MtlsMode.PERMISSIVE);
    try (Socket client = connect("127.0.0.1", "hold\n")) {
      Thread.sleep(200);
      assertThat(door.connections().size()).as("relays while the head is incomplete").isZero();

      client.getOutputStream().write('\n');

      await("the relay to start").atMost(Duration.ofSeconds(10)).until(() -> door.connections().size() == 1);
    }
  }
}
