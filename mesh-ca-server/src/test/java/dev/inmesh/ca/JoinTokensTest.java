package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class JoinTokensTest {
  private static final SpiffeId WEB = IdentityRules.identity("cluster.local", "shop", "web");

  private final MutableClock clock = new MutableClock(Instant.parse("2025-03-01T10:00:00Z"));
  private final JoinTokens tokens = JoinTokens.of("cluster.local", clock, Csrs.seeded("tokens"));

  private static Reason reason(Runnable call) {
    try {
      call.run();
    } catch (CaException e) {
      return e.reason();
    }
    throw new AssertionError("expected a refusal");
  }

  @Test
  void aTokenIsBoundToItsIdentityAndExpiresAfterItsTtl() {
    JoinToken token = tokens.create("shop", "web", Duration.ofMinutes(10));

    assertThat(token.identity()).isEqualTo(WEB);
    assertThat(token.expiresAt()).isEqualTo(Instant.parse("2025-03-01T10:10:00Z"));
    assertThat(token.value()).startsWith("inmesh-jt-").hasSizeGreaterThan(40);
    assertThat(token.toString()).doesNotContain(token.value());
  }

  @Test
  void aTokenCanBeRedeemedOnlyOnce() {
    JoinToken token = tokens.create("shop", "web", Duration.ofMinutes(10));

    tokens.redeem(token.value(), WEB);

    assertThat(reason(() -> tokens.redeem(token.value(), WEB))).isEqualTo(Reason.REUSED_TOKEN);
    assertThat(reason(() -> tokens.check(token.value(), WEB))).isEqualTo(Reason.REUSED_TOKEN);
  }

  @Test
  void aTokenIsValidUntilJustBeforeItsExpiry() {
    JoinToken token = tokens.create("shop", "web", Duration.ofMinutes(10));
    clock.advance(Duration.ofMinutes(10).minusMillis(1));
    tokens.check(token.value(), WEB);

    clock.advance(Duration.ofMillis(1));

    assertThat(reason(() -> tokens.redeem(token.value(), WEB))).isEqualTo(Reason.EXPIRED_TOKEN);
  }

  @Test
  void aTokenPresentedForAnotherIdentityIsRefusedAndStaysUsable() {
    JoinToken token = tokens.create("shop", "web", Duration.ofMinutes(10));

    assertThat(reason(() -> tokens.redeem(token.value(), IdentityRules.identity("cluster.local", "shop", "db"))))
        .isEqualTo(Reason.IDENTITY_MISMATCH);
    tokens.redeem(token.value(), WEB);
  }

  @Test
  void anUnknownTokenIsRefused() {
    assertThat(reason(() -> tokens.redeem("inmesh-jt-guess", WEB))).isEqualTo(Reason.BAD_TOKEN);
  }

  @Test
  void twoTokensForOneIdentityAreDifferentAndIndependent() {
    JoinToken first = tokens.create("shop", "web", Duration.ofMinutes(10));
    JoinToken second = tokens.create("shop", "web", Duration.ofMinutes(10));

    tokens.redeem(first.value(), WEB);

    assertThat(second.value()).isNotEqualTo(first.value());
    tokens.redeem(second.value(), WEB);
  }

  @Test
  void creatingATokenValidatesItsInputs() {
    assertThatThrownBy(() -> tokens.create("shop", "web", Duration.ZERO)).hasMessageContaining("must be positive");
    assertThatThrownBy(() -> tokens.create("Shop!", "web", Duration.ofMinutes(1))).hasMessageContaining("'Shop!'");
  }
}
