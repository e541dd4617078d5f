package dev.inmesh.balancing;

import static dev.inmesh.balancing.Picks.endpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.model.Endpoint;
import dev.inmesh.model.Locality;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalityPrioritiesTest {
  private final Locality client = Locality.parse("us-east1/us-east1-b/rack1");

  @Test
  void ranksSameSubZoneThenZoneThenRegionThenElsewhere() {
    assertThat(LocalityPriorities.priority(client, Locality.parse("us-east1/us-east1-b/rack1"))).isEqualTo(0);
    assertThat(LocalityPriorities.priority(client, Locality.parse("us-east1/us-east1-b/rack2"))).isEqualTo(1);
    assertThat(LocalityPriorities.priority(client, Locality.parse("us-east1/us-east1-c/rack1"))).isEqualTo(2);
    assertThat(LocalityPriorities.priority(client, Locality.parse("eu-west1/us-east1-b/rack1"))).isEqualTo(3);
    assertThat(LocalityPriorities.priority(client, Locality.UNKNOWN)).isEqualTo(3);
  }

  @Test
  void putsEverythingAtLevelZeroForAClientThatDoesNotKnowItsLocality() {
    assertThat(LocalityPriorities.priority(Locality.UNKNOWN, Locality.parse("us-east1/us-east1-b/rack1"))).isEqualTo(0);
    assertThat(LocalityPriorities.priority(Locality.UNKNOWN, Locality.UNKNOWN)).isEqualTo(0);
  }

  @Test
  void groupsEndpointsIntoNonEmptyLevelsNearestFirstKeepingTheirOrder() {
    Endpoint farAway = endpoint("10.0.0.1", Locality.parse("eu-west1/eu-west1-a"));
    Endpoint sameZone = endpoint("10.0.0.2", Locality.parse("us-east1/us-east1-b/rack9"));
    Endpoint sameRack = endpoint("10.0.0.3", Locality.parse("us-east1/us-east1-b/rack1"));
    Endpoint alsoFar = endpoint("10.0.0.4", Locality.UNKNOWN);

    LocalityPriorities priorities = LocalityPriorities.of(client, List.of(farAway, sameZone, sameRack, alsoFar));

    assertThat(priorities.levels()).containsExactly(List.of(sameRack), List.of(sameZone), List.of(farAway, alsoFar));
  }

  @Test
  void makesOneLevelForAClientThatDoesNotKnowItsLocality() {
    Endpoint east = endpoint("10.0.0.1", Locality.parse("us-east1/us-east1-b"));
    Endpoint west = endpoint("10.0.0.2", Locality.parse("eu-west1/eu-west1-a"));

    assertThat(LocalityPriorities.of(Locality.UNKNOWN, List.of(east, west)).levels())
        .containsExactly(List.of(east, west));
  }

  @Test
  void rejectsAnEmptyLevel() {
    assertThatThrownBy(() -> new LocalityPriorities(List.of(List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[[]]");
  }
}
