package dev.inmesh.internal.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import java.util.Objects;
import org.junit.jupiter.api.Test;

class EndpointTest {
  @Test
  void hashesAsObjectsHashOfTheFieldsEqualityCompares() {
    Endpoint endpoint = new Endpoint("10.0.0.7", 9080, new Locality("eu", "eu-1", "a"), 3, true, 1, 40);

    assertThat(endpoint.hashCode()).isEqualTo(Objects.hash("10.0.0.7", 9080, new Locality("eu", "eu-1", "a"), 3, true));
  }

  @Test
  void hashesAlikeAtAnotherPlacement() {
    Endpoint endpoint = Endpoint.of("10.0.0.7", 9080);

    assertThat(endpoint.placed(2, 10).hashCode()).isEqualTo(endpoint.hashCode());
    assertThat(endpoint.hashCode()).isNotEqualTo(Endpoint.of("10.0.0.7", 9081).hashCode());
  }
}
