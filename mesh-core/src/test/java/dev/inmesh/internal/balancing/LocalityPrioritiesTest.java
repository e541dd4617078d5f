package dev.inmesh.internal.balancing;

import static dev.inmesh.internal.balancing.Picks.endpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Locality;
import dev.inmesh.internal.model.Endpoint;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalityPrioritiesTest {
  private final Locality zoneA = Locality.parse("region1/zone-a");
  private final Locality zoneB = Locality.parse("region1/zone-b");

  @Test
  void groupsEndpointsByEdsPriorityLowestFirstSkippingEmptyOnes() {
    Endpoint far = endpoint("10.0.0.1", zoneB, 3, 1);
    Endpoint near = endpoint("10.0.0.2", zoneA, 0, 1);

    LocalityPriorities priorities = LocalityPriorities.of(List.of(far, near));

    assertThat(priorities.levels()).extracting(LocalityPriorities.Level::endpoints)
        .containsExactly(List.of(near), List.of(far));
  }

  @Test
  void groupsALevelByLocalityWithTheLocalitysWeight() {
    Endpoint a1 = endpoint("10.0.0.1", zoneA, 0, 80);
    Endpoint b1 = endpoint("10.0.0.2", zoneB, 0, 20);
    Endpoint a2 = endpoint("10.0.0.3", zoneA, 0, 80);

    LocalityPriorities.Level level = LocalityPriorities.of(List.of(a1, b1, a2)).levels().get(0);

    assertThat(level.localities()).containsExactly(List.of(a1, a2), List.of(b1));
    assertThat(level.localityWeights()).containsExactly(80, 20);
    assertThat(level.weighsLocalities()).isTrue();
  }

  @Test
  void doesNotWeighLocalitiesWhenEdsGaveThemNoWeight() {
    LocalityPriorities.Level level = LocalityPriorities.of(List.of(
        endpoint("10.0.0.1", zoneA), endpoint("10.0.0.2", zoneB))).levels().get(0);

    assertThat(level.weighsLocalities()).isFalse();
  }

  @Test
  void rejectsAnEmptyLevel() {
    assertThatThrownBy(() -> new LocalityPriorities.Level(List.of(), List.of(), List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty");
  }
}
