package dev.inmesh.internal.security.authz;

import static dev.inmesh.internal.security.authz.IstioRules.allow;
import static dev.inmesh.internal.security.authz.IstioRules.deny;
import static dev.inmesh.internal.security.authz.IstioRules.methods;
import static dev.inmesh.internal.security.authz.IstioRules.paths;
import static dev.inmesh.internal.security.authz.IstioRules.principals;
import static dev.inmesh.internal.security.authz.IstioRules.rule;
import static dev.inmesh.internal.security.authz.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AuthorizationEngineTest {
  private static final Policy GETS = rule("gets", List.of(methods("GET")), List.of());
  private static final Policy REVIEWS = rule("reviews", List.of(paths("/reviews/*")), List.of());

  @Test
  void everyAllowEngineMustMatchAsInAFilterChain() {
    AuthorizationEngine engine = new AuthorizationEngine(List.of(allow(GETS), allow(REVIEWS)), List.of());

    assertThat(engine.evaluate(request().build())).isEqualTo(new AuthzDecision.Allowed(Optional.of("gets")));
    assertThat(engine.evaluate(request().path("/ratings/1").build()))
        .isEqualTo(new AuthzDecision.Denied(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED));
  }

  @Test
  void shadowPoliciesAreEvaluatedButNeverEnforced() {
    AuthorizationEngine engine = new AuthorizationEngine(List.of(allow(GETS)),
        List.of(deny(rule("dry-run-deny", List.of(), List.of(principals("*"))))));

    assertThat(engine.evaluate(request().build()).isAllowed()).isTrue();
    assertThat(engine.evaluateShadow(request().build())).contains(new AuthzDecision.Denied("dry-run-deny"));
    assertThat(engine.evaluateShadow(request().plaintext().build())).contains(new AuthzDecision.Allowed(Optional.empty()));
  }

  @Test
  void withoutShadowPoliciesThereIsNoShadowDecision() {
    assertThat(new AuthorizationEngine(List.of(allow(GETS)), List.of()).evaluateShadow(request().build())).isEmpty();
  }

  @Test
  void logPoliciesNameTheAuditedRequestAndDecideNothing() {
    RbacEngine audit = new RbacEngine(RbacEngine.Action.LOG, List.of(GETS));
    AuthorizationEngine engine = new AuthorizationEngine(List.of(audit), List.of());

    assertThat(engine.evaluate(request().method("POST").build())).isEqualTo(new AuthzDecision.Allowed(Optional.empty()));
    assertThat(engine.auditPolicy(request().build())).contains("gets");
    assertThat(engine.auditPolicy(request().method("POST").build())).isEmpty();
  }

  @Test
  void anEngineRefusesTwoPoliciesOfOneName() {
    assertThatThrownBy(() -> allow(GETS, rule("gets", List.of(), List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'gets' appears twice");
  }

  @Test
  void andAndOrRefuseEmptyLists() {
    assertThatThrownBy(() -> new Permission.And(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Principal.Or(List.of())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theRequestedServerNameOfAPlaintextRequestIsEmpty() {
    Permission anySni = new Permission.RequestedServerName(dev.inmesh.internal.routing.StringMatcher.Regex.of(".*"));
    Permission someSni = new Permission.RequestedServerName(dev.inmesh.internal.routing.StringMatcher.Regex.of(".+"));

    assertThat(anySni.matches(request().plaintext().build())).isTrue();
    assertThat(someSni.matches(request().plaintext().build())).isFalse();
    assertThat(someSni.matches(request().sni("reviews.shop").build())).isTrue();
  }

  @Test
  void aPortRangeIncludesItsStartAndExcludesItsEnd() {
    Permission range = new Permission.DestinationPortRange(9000, 9100);

    assertThat(range.matches(request().port(9000).build())).isTrue();
    assertThat(range.matches(request().port(9099).build())).isTrue();
    assertThat(range.matches(request().port(9100).build())).isFalse();
  }

  @Test
  void theUrlPathDropsQueryAndFragment() {
    assertThat(request().path("/a/b?c=d#e").build().urlPath()).isEqualTo("/a/b");
    assertThat(request().path("/a#frag?x").build().urlPath()).isEqualTo("/a");
    assertThat(request().path("/plain").build().urlPath()).isEqualTo("/plain");
  }
}
