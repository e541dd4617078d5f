package dev.inmesh.internal.xds;

import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.authz.RbacEngine;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import java.util.ArrayList;
import java.util.List;

/**
 * The door from Envoy's RBAC HTTP filter config to the authorization engine, for code outside
 * this package that holds the protos (the inbound listener of a server).
 */
public final class Rbac {
  private Rbac() {}

  /**
   * Builds one engine from the RBAC filters of a listener's filter chain, in chain order (Istio puts
   * the DENY filter before the ALLOW filter; the engine checks DENY first either way).
   *
   * @param resourceName the listener, named in any error
   * @throws XdsParseException naming the field ({@code rbac[<index>].rules.policies[<name>]…}) of
   *     the first thing the engine cannot evaluate
   */
  public static AuthorizationEngine parse(String resourceName, List<RBAC> filters) throws XdsParseException {
    List<RbacEngine> engines = new ArrayList<>();
    List<RbacEngine> shadow = new ArrayList<>();
    for (int i = 0; i < filters.size(); i++) {
      RbacParser.Parsed parsed = RbacParser.parse(resourceName, "rbac[" + i + "]", filters.get(i));
      parsed.rules().ifPresent(engines::add);
      parsed.shadowRules().ifPresent(shadow::add);
    }
    return new AuthorizationEngine(engines, shadow);
  }
}
