package dev.inmesh.control.translate.authz;

import com.google.protobuf.Any;
import dev.inmesh.control.config.Problem;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The RBAC HTTP filters for one workload's inbound side, and every part of its policies that they
 * do not enforce. {@code audit} logs (RBAC action LOG), {@code deny} is checked before {@code allow},
 * and {@code allow}, when present, denies every request that none of its policies match. A filter
 * that holds only dry-run policies has {@code shadow_rules} and no {@code rules}: it enforces nothing.
 */
public record AuthorizationFilters(Optional<RBAC> audit, Optional<RBAC> deny, Optional<RBAC> allow,
    List<Problem> warnings) {
  /** Filter names as Istio's proxyless gRPC generator writes them; HCM filter names must be unique. */
  public static final String AUDIT_FILTER_NAME = "envoy.filters.http.rbac.AUDIT";
  public static final String DENY_FILTER_NAME = "envoy.filters.http.rbac.DENY";
  public static final String ALLOW_FILTER_NAME = "envoy.filters.http.rbac";

  public AuthorizationFilters {
    Objects.requireNonNull(audit, "audit");
    Objects.requireNonNull(deny, "deny");
    Objects.requireNonNull(allow, "allow");
    warnings = List.copyOf(warnings);
  }

  /**
   * The filters in the order they run, to be put before the router: audit sees every request,
   * DENY decides before ALLOW.
   */
  public List<HttpFilter> httpFilters() {
    List<HttpFilter> filters = new ArrayList<>();
    audit.ifPresent(rbac -> filters.add(filter(AUDIT_FILTER_NAME, rbac)));
    deny.ifPresent(rbac -> filters.add(filter(DENY_FILTER_NAME, rbac)));
    allow.ifPresent(rbac -> filters.add(filter(ALLOW_FILTER_NAME, rbac)));
    return List.copyOf(filters);
  }

  private static HttpFilter filter(String name, RBAC rbac) {
    return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(rbac)).build();
  }
}
