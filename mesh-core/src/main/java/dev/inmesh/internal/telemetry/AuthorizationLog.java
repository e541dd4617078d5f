package dev.inmesh.internal.telemetry;

import dev.inmesh.internal.security.authz.AuthzDecision;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log lines of authorization that decides nothing: Istio's AUDIT policies and its dry-run
 * ({@code istio.io/dry-run}) policies, one line per request, at INFO through SLF4J.
 *
 * <p>AUDIT (Envoy's RBAC action LOG, which Istio's audit log providers read through the
 * {@code access_log_hint}) writes to the logger {@value #AUDIT_LOGGER}, so that audit lines can go
 * to an appender of their own:
 * <pre>AUDIT ns[foo]-policy[audit-headers]-rule[0] "GET /headers" port=8000 source=spiffe://cluster.local/ns/foo/sa/curl decision=allowed</pre>
 *
 * <p>Dry-run policies are Envoy's RBAC shadow rules; what they would have decided goes to the
 * logger {@value #DRY_RUN_LOGGER} with the words of Envoy's rbac debug line and the keys of the
 * dynamic metadata Istio's task reads ({@code istio_dry_run_deny_shadow_effective_policy_id} for a
 * dry-run DENY policy that matched, {@code istio_dry_run_allow_...} otherwise):
 * <pre>shadow denied, matched policy ns[foo]-policy[deny-path-headers]-rule[0] "GET /headers" port=8000 source=... istio_dry_run_deny_shadow_engine_result=denied istio_dry_run_deny_shadow_effective_policy_id=ns[foo]-policy[deny-path-headers]-rule[0]</pre>
 */
public final class AuthorizationLog {
  public static final String AUDIT_LOGGER = "inmesh.authz.audit";
  public static final String DRY_RUN_LOGGER = "inmesh.authz.dry-run";
  static final String DENY_PREFIX = "istio_dry_run_deny_";
  static final String ALLOW_PREFIX = "istio_dry_run_allow_";

  private final Logger audit;
  private final Logger dryRun;

  private AuthorizationLog(Logger audit, Logger dryRun) {
    this.audit = audit;
    this.dryRun = dryRun;
  }

  public static AuthorizationLog defaults() {
    return new AuthorizationLog(LoggerFactory.getLogger(AUDIT_LOGGER), LoggerFactory.getLogger(DRY_RUN_LOGGER));
  }

  /** What the line names about the request: its method and path, the server's port, and who called. */
  public record Request(String method, String path, int port, String source) {
    public Request {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(source, "source");
    }

    String describe() {
      return "\"" + method + " " + path + "\" port=" + port + " source=" + source;
    }
  }

  /** A request that the AUDIT policy {@code policy} matched, and what the enforced policies decided for it. */
  public void audit(String policy, Request request, AuthzDecision decision) {
    if (audit.isInfoEnabled()) {
      audit.info(auditLine(policy, request, decision));
    }
  }

  /** What the dry-run policies would have decided for a request that was not held to them. */
  public void dryRun(Request request, AuthzDecision shadow) {
    if (dryRun.isInfoEnabled()) {
      dryRun.info(dryRunLine(request, shadow));
    }
  }

  static String auditLine(String policy, Request request, AuthzDecision decision) {
    return "AUDIT " + policy + " " + request.describe() + " decision=" + (decision.isAllowed() ? "allowed" : "denied");
  }

  static String dryRunLine(Request request, AuthzDecision shadow) {
    String result = shadow.isAllowed() ? "allowed" : "denied";
    String policy = "none";
    if (shadow instanceof AuthzDecision.Allowed allowed) {
      policy = allowed.matchedPolicy().orElse("none");
    } else if (shadow instanceof AuthzDecision.Denied denied
        && !denied.policyOrReason().equals(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED)) {
      policy = denied.policyOrReason();
    }
    // Istio's deny filter carries the deny prefix: a dry-run DENY policy that matched is reported under it
    boolean byDenyPolicy = !shadow.isAllowed() && !policy.equals("none");
    String prefix = byDenyPolicy ? DENY_PREFIX : ALLOW_PREFIX;
    StringBuilder line = new StringBuilder("shadow ").append(result).append(", matched policy ").append(policy)
        .append(' ').append(request.describe())
        .append(' ').append(prefix).append("shadow_engine_result=").append(result);
    if (!policy.equals("none")) {
      line.append(' ').append(prefix).append("shadow_effective_policy_id=").append(policy);
    }
    return line.toString();
  }
}
