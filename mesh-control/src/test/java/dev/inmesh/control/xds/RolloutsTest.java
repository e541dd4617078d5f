package dev.inmesh.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A change followed to the clients, played through what mesh-control tells the tracker: snapshots
 * published per profile, a change numbered, the translation that holds it, and what each client
 * ACKed or NACKed.
 */
class RolloutsTest {
  private static final String HTTP = "default;mtls";
  private static final String GRPC = "default;grpc";

  private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T10:00:00Z"));
  private final Rollouts rollouts = new Rollouts(clock);

  private static Map<String, String> versions(String lds, String cds) {
    return Map.of("LDS", lds, "RDS", "r1", "CDS", cds, "EDS", "e1");
  }

  /** A client of {@code profile} that ACKed {@code acked} per type, and NACKed {@code nacked} with "too many clusters". */
  private static ClientStatus client(long stream, String node, String profile, Map<String, String> acked,
      Map<String, String> nacked) {
    Map<String, ClientStatus.TypeStatus> types = new HashMap<>();
    acked.forEach((type, version) -> types.put(type, new ClientStatus.TypeStatus(version, version,
        Optional.ofNullable(nacked.get(type)).map(v -> new ClientStatus.Nack(v, "too many clusters", Instant.EPOCH)), 1)));
    return new ClientStatus(stream, node, "default", profile, "test 1", Instant.EPOCH, types, Optional.empty(), Optional.empty(), Optional.empty());
  }

  /** Both profiles served l1/c1; the change moves the HTTP profile's clusters to c2 and leaves gRPC's alone. */
  private long changeHttpClusters() {
    rollouts.published(HTTP, versions("l1", "c1"));
    rollouts.published(GRPC, versions("l1", "c1"));
    long generation = rollouts.begin(rollouts.baseline());
    rollouts.published(HTTP, versions("l1", "c2"));
    rollouts.built(rollouts.generation(), Map.of(1L, HTTP, 2L, HTTP, 3L, GRPC));
    return generation;
  }

  @Test
  void aChangeIsSettledWhenEveryClientItAffectsAckedTheVersionThatHoldsIt() {
    long generation = changeHttpClusters();
    clock.advance(Duration.ofMillis(300));
    List<ClientStatus> clients = List.of(
        client(1, "productpage", HTTP, versions("l1", "c2"), Map.of()),
        client(2, "reviews", HTTP, versions("l1", "c1"), Map.of()),
        client(3, "ratings", GRPC, versions("l1", "c1"), Map.of()));

    Rollout midway = rollouts.rollout(generation, clients).orElseThrow();
    assertThat(midway.settled()).isFalse();
    assertThat(midway.clients()).extracting(c -> c.status().nodeId() + "=" + c.state())
        .containsExactly("productpage=ACKED", "reviews=PENDING");
    assertThat(midway.clients().get(0).types()).containsExactly(Map.entry("CDS", "c2"));
    assertThat(midway.unaffected()).as("the gRPC profile's snapshot did not change").isEqualTo(1);

    Rollout done = rollouts.rollout(generation, List.of(clients.get(0),
        client(2, "reviews", HTTP, versions("l1", "c2"), Map.of()), clients.get(2))).orElseThrow();
    assertThat(done.settled()).isTrue();
    assertThat(done.count(Rollout.State.ACKED)).isEqualTo(2);
  }

  @Test
  void aClientThatNacksTheChangeIsNamedWithItsOwnReason() {
    long generation = changeHttpClusters();
    Rollout rollout = rollouts.rollout(generation, List.of(
        client(1, "productpage", HTTP, versions("l1", "c2"), Map.of()),
        client(2, "reviews", HTTP, versions("l1", "c1"), Map.of("CDS", "c2")))).orElseThrow();

    assertThat(rollout.settled()).as("a NACK is an answer").isTrue();
    Rollout.Client reviews = rollout.clients().get(1);
    assertThat(reviews.state()).isEqualTo(Rollout.State.NACKED);
    assertThat(reviews.nacks()).containsExactly(Map.entry("CDS", "too many clusters"));
  }

  @Test
  void aNackOfAnOlderVersionIsNoAnswerToTheChange() {
    long generation = changeHttpClusters();
    Rollout rollout = rollouts.rollout(generation, List.of(
        client(1, "productpage", HTTP, versions("l1", "c1"), Map.of("CDS", "c0")))).orElseThrow();

    assertThat(rollout.clients().get(0).state()).isEqualTo(Rollout.State.PENDING);
  }

  @Test
  void aClientThatAckedALaterVersionHoldsTheChange() {
    long generation = changeHttpClusters();
    long next = rollouts.begin(rollouts.baseline());
    rollouts.published(HTTP, versions("l1", "c3"));
    rollouts.built(next, Map.of(1L, HTTP));

    Rollout rollout = rollouts.rollout(generation, List.of(client(1, "productpage", HTTP, versions("l1", "c3"), Map.of())))
        .orElseThrow();
    assertThat(rollout.clients().get(0).state()).isEqualTo(Rollout.State.ACKED);
  }

  @Test
  void aVersionServedBeforeTheChangeDoesNotCountEvenWhenItComesBackLater() {
    long generation = changeHttpClusters();
    // the client still holds c1; once c1 is published again (the change undone) it holds the newest config
    ClientStatus stale = client(1, "productpage", HTTP, versions("l1", "c1"), Map.of());
    assertThat(rollouts.rollout(generation, List.of(stale)).orElseThrow().clients().get(0).state())
        .isEqualTo(Rollout.State.PENDING);

    rollouts.published(HTTP, versions("l1", "c1"));
    assertThat(rollouts.rollout(generation, List.of(stale)).orElseThrow().clients().get(0).state())
        .isEqualTo(Rollout.State.ACKED);
  }

  @Test
  void clientsThatConnectLaterOrLeaveDoNotHoldTheWait() {
    long generation = changeHttpClusters();
    Rollout rollout = rollouts.rollout(generation, List.of(
        client(1, "productpage", HTTP, versions("l1", "c2"), Map.of()),
        client(9, "latecomer", HTTP, versions("l1", "c1"), Map.of()))).orElseThrow();

    assertThat(rollout.clients()).extracting(c -> c.status().nodeId()).containsExactly("productpage");
    assertThat(rollout.disconnected()).as("stream 2 left").isEqualTo(1);
    assertThat(rollout.settled()).isTrue();
  }

  @Test
  void aTypeTheClientNeverAskedForIsNotWaitedFor() {
    long generation = changeHttpClusters();
    Rollout rollout = rollouts.rollout(generation, List.of(
        client(1, "productpage", HTTP, Map.of("LDS", "l1"), Map.of()))).orElseThrow();

    assertThat(rollout.clients()).isEmpty();
    assertThat(rollout.unaffected()).isEqualTo(1);
  }

  @Test
  void aChangeIsNotSettledUntilATranslationThatReadItHasPublished() {
    rollouts.published(HTTP, versions("l1", "c1"));
    long reading = rollouts.generation();
    long generation = rollouts.begin(rollouts.baseline());
    // a translation that read the config before the change was numbered does not hold it
    rollouts.built(reading, Map.of(1L, HTTP));
    assertThat(rollouts.rollout(generation, List.of()).orElseThrow().built()).isFalse();
    assertThat(rollouts.rollout(generation, List.of()).orElseThrow().settled()).isFalse();

    rollouts.built(rollouts.generation(), Map.of(1L, HTTP));
    assertThat(rollouts.rollout(generation, List.of()).orElseThrow().built()).isTrue();
  }

  @Test
  void aClientOfAProfileMadeAfterTheChangeWaitsForItsFirstConfig() {
    long generation = rollouts.begin(rollouts.baseline());
    rollouts.published(GRPC, versions("l1", "c1"));
    rollouts.built(generation, Map.of(3L, GRPC));

    Rollout rollout = rollouts.rollout(generation, List.of(client(3, "ratings", GRPC, Map.of("LDS", "", "CDS", ""), Map.of())))
        .orElseThrow();
    assertThat(rollout.clients()).extracting(Rollout.Client::state).containsExactly(Rollout.State.PENDING);
  }

  @Test
  void onlyTheLastChangesAreRemembered() {
    for (int i = 0; i < Rollouts.KEPT + 1; i++) {
      rollouts.begin(rollouts.baseline());
    }
    assertThat(rollouts.rollout(1, List.of())).isEmpty();
    assertThat(rollouts.rollout(2, List.of())).isPresent();
    assertThat(rollouts.latest(List.of()).orElseThrow().generation()).isEqualTo(Rollouts.KEPT + 1);
  }
}
