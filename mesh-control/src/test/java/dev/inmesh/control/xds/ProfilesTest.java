package dev.inmesh.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProfilesTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T10:00:00Z"));
  private final Profiles profiles = new Profiles(clock, XdsLimits.defaults().withMaxProfiles(3)
      .withProfileIdleTime(Duration.ofMinutes(5)));

  @Test
  void aProfileIsNewForItsFirstStreamAndKnownForTheNext() {
    assertThat(profiles.admit("shop;grpc", false)).isEqualTo(Profiles.Admission.NEW);
    assertThat(profiles.admit("shop;grpc", false)).isEqualTo(Profiles.Admission.KNOWN);
    assertThat(profiles.keys()).containsExactly("shop;grpc");
  }

  @Test
  void anUnprovenStreamCannotAddAProfileBeyondTheLimit() {
    profiles.pin("default");
    profiles.admit("a", false);
    profiles.admit("b", false);

    assertThat(profiles.admit("c", false)).isEqualTo(Profiles.Admission.FULL);
    assertThat(profiles.admit("a", false)).as("a profile that exists is still served").isEqualTo(Profiles.Admission.KNOWN);
    assertThat(profiles.keys()).containsExactlyInAnyOrder("default", "a", "b");
  }

  @Test
  void aStreamWhoseNamespaceMutualTlsProvedIsAdmittedBeyondTheLimit() {
    profiles.admit("a", false);
    profiles.admit("b", false);
    profiles.admit("c", false);

    assertThat(profiles.admit("shop;mtls", true)).isEqualTo(Profiles.Admission.NEW);
    assertThat(profiles.size()).isEqualTo(4);
  }

  @Test
  void aProvenNamespaceIsAdmittedBeyondTheLimitInABoundedNumberOfLocalities() {
    profiles.admit("a", false);
    profiles.admit("b", false);
    profiles.admit("c", false);
    for (int i = 0; i < Profiles.PROVEN_LOCALITIES; i++) {
      assertThat(profiles.admit(new ClientProfile("shop", false, true, new Locality("r" + i, "", "")).key(), true))
          .isEqualTo(Profiles.Admission.NEW);
    }

    assertThat(profiles.admit(new ClientProfile("shop", false, true, new Locality("one-more", "", "")).key(), true))
        .isEqualTo(Profiles.Admission.FULL);
    assertThat(profiles.admit(new ClientProfile("other", false, true, new Locality("r0", "", "")).key(), true))
        .as("another namespace has localities of its own").isEqualTo(Profiles.Admission.NEW);
  }

  @Test
  void aProfileIsDroppedOnlyOnceItsLastClientLeftLongerThanTheIdleTimeAgo() {
    profiles.admit("shop", false);
    profiles.admit("shop", false);
    profiles.release("shop");
    clock.advance(Duration.ofHours(1));
    assertThat(profiles.evictIdle(key -> true)).as("one client is still there").isEmpty();

    profiles.release("shop");
    clock.advance(Duration.ofMinutes(4));
    assertThat(profiles.evictIdle(key -> true)).isEmpty();
    clock.advance(Duration.ofMinutes(2));
    assertThat(profiles.evictIdle(key -> true)).containsExactly("shop");
    assertThat(profiles.keys()).isEmpty();
  }

  @Test
  void aProfileThatIsDroppedFreesItsPlace() {
    for (String key : new String[] {"a", "b", "c"}) {
      profiles.admit(key, false);
      profiles.release(key);
    }
    assertThat(profiles.admit("d", false)).isEqualTo(Profiles.Admission.FULL);
    clock.advance(Duration.ofMinutes(6));
    profiles.evictIdle(key -> true);

    assertThat(profiles.admit("d", false)).isEqualTo(Profiles.Admission.NEW);
  }

  @Test
  void aPinnedProfileStaysWithoutAClient() {
    profiles.pin("default");
    clock.advance(Duration.ofDays(1));

    assertThat(profiles.evictIdle(key -> true)).isEmpty();
    assertThat(profiles.keys()).containsExactly("default");
  }

  @Test
  void aProfileWhoseSnapshotCannotBeClearedYetIsKeptForTheNextRound() {
    profiles.admit("shop", false);
    profiles.release("shop");
    clock.advance(Duration.ofMinutes(6));

    assertThat(profiles.evictIdle(key -> false)).isEmpty();
    assertThat(profiles.evictIdle(key -> true)).containsExactly("shop");
  }
}
