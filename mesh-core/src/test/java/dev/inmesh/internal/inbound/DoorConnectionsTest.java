package dev.inmesh.internal.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.inbound.DoorConfig;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The door's limits and timeouts, with time moved by hand and no sockets on the wire. */
class DoorConnectionsTest {
  private static final DoorConfig CONFIG = DoorConfig.defaults().withMaxConnections(4).withMaxConnectionsPerSource(2);

  private long now;
  private final DoorConnections connections = new DoorConnections(CONFIG, () -> now);

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private DoorConnection open(String source) {
    DoorConnections.Opened opened = connections.open(new Socket(), address(source));
    assertThat(opened).isInstanceOf(DoorConnections.Accepted.class);
    return ((DoorConnections.Accepted) opened).connection();
  }

  private void advance(Duration duration) {
    now += duration.toNanos();
  }

  private static void send(DoorConnection connection, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    connection.clientSent(bytes, 0, bytes.length);
  }

  private static Optional<DoorConnection.Timeout> overdue(DoorConnection connection) {
    return connection.overdue(CONFIG);
  }

  @Test
  void aConnectionWithoutACompleteHeadIsClosedAtTheHeaderTimeoutHoweverItTrickles() {
    DoorConnection connection = open("10.0.0.1");
    String head = "GET / HTTP/1.1\r\nHost: reviews\r\n";
    for (int i = 0; i < 9; i++) {
      send(connection, head.substring(i, i + 1));
      advance(Duration.ofSeconds(1));
    }
    assertThat(overdue(connection)).isEmpty();

    advance(Duration.ofSeconds(1));

    assertThat(overdue(connection)).contains(DoorConnection.Timeout.HEADER);
    assertThat(connections.overdue()).containsExactly(new DoorConnections.Overdue(connection, DoorConnection.Timeout.HEADER));
  }

  @Test
  void anEmptyLineEndsTheHeadEvenWhenItArrivesInPieces() {
    DoorConnection http1 = open("10.0.0.1");
    send(http1, "GET / HTTP/1.1\r\nHost: reviews\r");
    send(http1, "\n\r");
    send(http1, "\n");
    DoorConnection http2 = open("10.0.0.2");
    send(http2, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    advance(Duration.ofSeconds(30));

    assertThat(overdue(http1)).isEmpty();
    assertThat(overdue(http2)).isEmpty();
  }

  @Test
  void aConnectionWithNothingInFlightIsClosedAtTheIdleTimeoutAndClientBytesDoNotCount() {
    DoorConnection connection = open("10.0.0.1");
    connection.requestStarted();
    advance(Duration.ofSeconds(5));
    connection.requestEnded();

    for (int i = 0; i < 59; i++) {
      advance(Duration.ofSeconds(1));
      send(connection, "G");
    }
    assertThat(overdue(connection)).isEmpty();
    advance(Duration.ofSeconds(1));

    assertThat(overdue(connection)).contains(DoorConnection.Timeout.IDLE);
  }

  @Test
  void aRequestInFlightKeepsItsConnectionHoweverLongItTakes() {
    DoorConnection connection = open("10.0.0.1");
    connection.requestStarted();

    advance(Duration.ofHours(1));

    assertThat(overdue(connection)).isEmpty();
  }

  @Test
  void responseBytesCountAsActivity() {
    DoorConnection connection = open("10.0.0.1");
    send(connection, "GET / HTTP/1.1\r\n\r\n");
    advance(Duration.ofSeconds(50));
    connection.responded();
    advance(Duration.ofSeconds(50));

    assertThat(overdue(connection)).isEmpty();
  }

  @Test
  void theDoorRefusesPastItsLimitPerSourceAndInTotal() {
    open("10.0.0.1");
    open("10.0.0.1");

    assertThat(connections.open(new Socket(), address("10.0.0.1"))).isInstanceOfSatisfying(DoorConnections.Refused.class,
        refused -> {
          assertThat(refused.reason()).isEqualTo(RefusalReason.SOURCE_LIMIT);
          assertThat(refused.message()).contains("10.0.0.1");
        });
    open("10.0.0.2");
    open("10.0.0.3");
    assertThat(connections.open(new Socket(), address("10.0.0.4"))).isInstanceOfSatisfying(DoorConnections.Refused.class,
        refused -> assertThat(refused.reason()).isEqualTo(RefusalReason.OVERLOADED));
  }

  @Test
  void aClosedConnectionFreesItsSlotAndItsAddressOnce() {
    DoorConnection first = open("10.0.0.1");
    open("10.0.0.1");

    connections.closed(first);
    connections.closed(first);

    assertThat(connections.size()).isEqualTo(1);
    assertThat(connections.fromSource(address("10.0.0.1"))).isEqualTo(1);
    open("10.0.0.1");
    assertThat(connections.fromSource(address("10.0.0.1"))).isEqualTo(2);
  }

  @Test
  void anAddressWithoutConnectionsIsForgotten() {
    DoorConnection connection = open("10.0.0.9");

    connections.closed(connection);

    assertThat(connections.addresses()).isZero();
    assertThat(connections.size()).isZero();
  }
}
