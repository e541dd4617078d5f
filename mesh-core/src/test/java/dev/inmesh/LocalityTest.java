package dev.inmesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class LocalityTest {

  @Test
  void parsesRegionZoneAndSubzone() {
    assertThat(Locality.parse("us-east1/us-east1-b/rack7"))
        .isEqualTo(new Locality("us-east1", "us-east1-b", "rack7"));
    assertThat(Locality.parse("us-east1/us-east1-b")).isEqualTo(new Locality("us-east1", "us-east1-b", ""));
    assertThat(Locality.parse("us-east1")).isEqualTo(new Locality("us-east1", "", ""));
  }

  @Test
  void parsesNothingAsUnknown() {
    assertThat(Locality.parse("")).isEqualTo(Locality.UNKNOWN);
    assertThat(Locality.parse(null)).isEqualTo(Locality.UNKNOWN);
    assertThat(Locality.UNKNOWN.toString()).isEmpty();
  }

  @Test
  void rejectsMoreThanThreePartsQuotingTheValue() {
    assertThatThrownBy(() -> Locality.parse("a/b/c/d"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'a/b/c/d'");
  }

  @Test
  void writesOnlyThePartsItNeeds() {
    assertThat(new Locality("us-east1", "", "")).hasToString("us-east1");
    assertThat(new Locality("us-east1", "us-east1-b", "")).hasToString("us-east1/us-east1-b");
    assertThat(new Locality("us-east1", "us-east1-b", "rack7")).hasToString("us-east1/us-east1-b/rack7");
  }

  @Test
  void keepsEmptyMiddlePartsSoThatToStringParsesBack() {
    List<Locality> localities = List.of(
        Locality.UNKNOWN,
        new Locality("us-east1", "", ""),
        new Locality("us-east1", "us-east1-b", ""),
        new Locality("us-east1", "us-east1-b", "rack7"),
        new Locality("us-east1", "", "rack7"),
        new Locality("", "us-east1-b", ""),
        new Locality("", "", "rack7"));

    for (Locality locality : localities) {
      assertThat(Locality.parse(locality.toString())).as(locality.toString()).isEqualTo(locality);
    }
  }

  @Test
  void treatsNullPartsAsEmpty() {
    assertThat(new Locality(null, null, null)).isEqualTo(Locality.UNKNOWN);
  }
}
