package dev.inmesh.internal.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.security.authz.AuthzDecision;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AuthorizationLogTest {
  private static final AuthorizationLog.Request REQUEST =
      new AuthorizationLog.Request("GET", "/headers", 8000, "spiffe://cluster.local/ns/foo/sa/curl");

  @Test
  void aDryRunDenyPolicyThatMatchedIsReportedUnderTheDenyPrefix() {
    assertThat(AuthorizationLog.dryRunLine(REQUEST, new AuthzDecision.Denied("ns[foo]-policy[deny-headers]-rule[0]")))
        .isEqualTo("shadow denied, matched policy ns[foo]-policy[deny-headers]-rule[0] \"GET /headers\" port=8000"
            + " source=spiffe://cluster.local/ns/foo/sa/curl istio_dry_run_deny_shadow_engine_result=denied"
            + " istio_dry_run_deny_shadow_effective_policy_id=ns[foo]-policy[deny-headers]-rule[0]");
  }

  @Test
  void aRequestNoDryRunAllowPolicyMatchedIsDeniedByNoPolicy() {
    assertThat(AuthorizationLog.dryRunLine(REQUEST, new AuthzDecision.Denied(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED)))
        .isEqualTo("shadow denied, matched policy none \"GET /headers\" port=8000"
            + " source=spiffe://cluster.local/ns/foo/sa/curl istio_dry_run_allow_shadow_engine_result=denied");
  }

  @Test
  void aDryRunAllowPolicyThatMatchedIsReportedUnderTheAllowPrefix() {
    assertThat(AuthorizationLog.dryRunLine(REQUEST, new AuthzDecision.Allowed(Optional.of("ns[foo]-policy[viewer]-rule[1]"))))
        .endsWith("istio_dry_run_allow_shadow_engine_result=allowed"
            + " istio_dry_run_allow_shadow_effective_policy_id=ns[foo]-policy[viewer]-rule[1]");
  }

  @Test
  void anAuditLineNamesThePolicyTheRequestAndTheEnforcedDecision() {
    assertThat(AuthorizationLog.auditLine("ns[foo]-policy[audit]-rule[0]", REQUEST, new AuthzDecision.Denied("x")))
        .isEqualTo("AUDIT ns[foo]-policy[audit]-rule[0] \"GET /headers\" port=8000"
            + " source=spiffe://cluster.local/ns/foo/sa/curl decision=denied");
  }
}
