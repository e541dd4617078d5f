package dev.inmesh.control.translate.authz;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Expands principals over the mesh's trust domain and its aliases, with Istio's rules: a principal
 * {@code <td>/ns/<ns>/sa/<sa>} whose trust domain is the mesh's, an alias or {@code cluster.local}
 * (which names the local trust domain) is repeated for every one of them; a wildcard trust domain
 * {@code *suffix} is kept as written for the domains it already matches. Principals without a trust
 * domain that is enforced ({@code *}, {@code *}{@code /ns/...}, or not of the five-part form) stay
 * as they are.
 */
final class TrustDomainAliases {
  private final List<String> trustDomains;

  TrustDomainAliases(AuthorizationConfig config) {
    this.trustDomains = config.trustDomains();
  }

  List<String> expand(List<String> principals) {
    List<String> expanded = new ArrayList<>();
    for (String principal : principals) {
      String[] parts = principal.split("/", -1);
      if (parts.length != 5 || parts[0].equals("*")) {
        expanded.add(principal);
        continue;
      }
      String trustDomain = parts[0];
      if (!isKnown(trustDomain) && !trustDomain.equals(AuthorizationConfig.DEFAULT_TRUST_DOMAIN)) {
        expanded.add(principal);
        continue;
      }
      Set<String> forDomains = new LinkedHashSet<>();
      String rest = principal.substring(trustDomain.length());
      for (String domain : trustDomains) {
        forDomains.add(suffixMatch(domain, trustDomain) ? principal : domain + rest);
      }
      expanded.addAll(forDomains);
    }
    return expanded;
  }

  private boolean isKnown(String trustDomain) {
    for (String domain : trustDomains) {
      if (domain.equals(trustDomain) || suffixMatch(domain, trustDomain)) {
        return true;
      }
    }
    return false;
  }

  private static boolean suffixMatch(String domain, String pattern) {
    return pattern.startsWith("*") && domain.endsWith(pattern.substring(1));
  }
}
