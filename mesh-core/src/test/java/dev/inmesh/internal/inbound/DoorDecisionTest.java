package dev.inmesh.internal.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DoorDecisionTest {
  private static final int TLS = 0x16;
  private static final int PLAINTEXT = 'G';

  private static Optional<InboundPolicy> policy(MtlsMode mode) {
    return Optional.of(new InboundPolicy("grpc/server?xds.resource.listening_address=127.0.0.1:9080", 9080, mode,
        AuthorizationEngine.EMPTY));
  }

  private static DoorDecision decide(int firstByte, Optional<InboundPolicy> policy) {
    return DoorDecision.decide(9080, firstByte, policy, true);
  }

  @Test
  void withoutAPolicyFromMeshControlEveryConnectionIsRefusedAndTheLogSaysWhy() {
    for (int first : new int[] {TLS, PLAINTEXT}) {
      assertThat(decide(first, Optional.empty())).isInstanceOfSatisfying(DoorDecision.Refuse.class, refuse -> {
        assertThat(refuse.reason()).isEqualTo(RefusalReason.NO_POLICY);
        assertThat(refuse.message()).startsWith("no inbound policy for port 9080 from mesh-control yet");
      });
    }
  }

  @Test
  void strictTakesTlsAndRefusesPlaintextNamingThePortAndListener() {
    assertThat(decide(TLS, policy(MtlsMode.STRICT))).isInstanceOfSatisfying(DoorDecision.Accept.class,
        accept -> assertThat(accept.transport()).isEqualTo(DoorDecision.Transport.TLS));
    assertThat(decide(PLAINTEXT, policy(MtlsMode.STRICT))).isInstanceOfSatisfying(DoorDecision.Refuse.class, refuse -> {
      assertThat(refuse.reason()).isEqualTo(RefusalReason.PLAINTEXT_UNDER_STRICT);
      assertThat(refuse.reason().tag()).isEqualTo("plaintext_under_strict");
      assertThat(refuse.message()).contains("port 9080", "STRICT", "listening_address=127.0.0.1:9080");
    });
  }

  @Test
  void permissiveTakesBothTellingThemApartByTheFirstByte() {
    assertThat(decide(TLS, policy(MtlsMode.PERMISSIVE))).isEqualTo(
        new DoorDecision.Accept(DoorDecision.Transport.TLS, policy(MtlsMode.PERMISSIVE).get()));
    assertThat(decide(PLAINTEXT, policy(MtlsMode.PERMISSIVE))).isEqualTo(
        new DoorDecision.Accept(DoorDecision.Transport.PLAINTEXT, policy(MtlsMode.PERMISSIVE).get()));
    // HTTP/2's preface starts with 'P', a byte that is no TLS record type either
    assertThat(decide('P', policy(MtlsMode.PERMISSIVE))).isInstanceOf(DoorDecision.Accept.class);
  }

  @Test
  void disableTakesPlaintextAndRefusesTls() {
    assertThat(decide(PLAINTEXT, policy(MtlsMode.DISABLE))).isInstanceOf(DoorDecision.Accept.class);
    assertThat(decide(TLS, policy(MtlsMode.DISABLE))).isInstanceOfSatisfying(DoorDecision.Refuse.class,
        refuse -> assertThat(refuse.reason()).isEqualTo(RefusalReason.TLS_UNDER_DISABLE));
  }

  @Test
  void aWorkloadWithoutCertificateRefusesTlsEvenWhenThePortTakesIt() {
    assertThat(DoorDecision.decide(9080, TLS, policy(MtlsMode.PERMISSIVE), false))
        .isInstanceOfSatisfying(DoorDecision.Refuse.class, refuse -> {
          assertThat(refuse.reason()).isEqualTo(RefusalReason.NO_CERTIFICATE);
          assertThat(refuse.message()).contains("certificateAuthority(...)");
        });
  }
}
