package dev.inmesh.control.translate.authn;

import com.google.protobuf.Any;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.security.RequestAuthentication;
import dev.inmesh.control.config.security.RequestAuthentication.JwtRule;
import dev.inmesh.control.translate.authz.AuthorizationTranslator;
import dev.inmesh.internal.xds.JwtAuthnParser;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The RequestAuthentications of one workload as Envoy's {@code jwt_authn} filter, in istiod's shape:
 * a provider {@code origins-<i>} per JWT rule (policies in name order, rules in order), keys inline
 * ({@code jwks}, or what {@link JwksResolver} fetched from {@code jwksUri}), the claims in metadata
 * under {@code payload} for AuthorizationPolicy, and one rule for {@code /} that any provider or no
 * token at all satisfies: a request without a token passes, one with an invalid token is rejected.
 */
public final class RequestAuthnTranslator {
  /** Where the RBAC matchers find the claims, as Istio writes them. */
  public static final String PAYLOAD_IN_METADATA = "payload";
  /** Istio splits these claims at spaces for authorization, besides those a rule names. */
  static final List<String> SPACE_DELIMITED = List.of("scope", "permission");
  private static final String ROOT_NAMESPACE = AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE;

  private final JwksResolver jwks;

  public RequestAuthnTranslator(JwksResolver jwks) {
    this.jwks = jwks;
  }

  /** The filter and the warnings for it. */
  public record Result(Optional<HttpFilter> filter, List<Problem> warnings) {}

  /**
   * Whether {@code policy} governs a workload of {@code namespace} with {@code labels}: its own
   * namespace or the root namespace, and a selector its labels match. Policies attached by
   * targetRef govern gateways and waypoints, so no workload.
   */
  public static boolean appliesTo(ConfigResource policy, String namespace, Map<String, String> labels) {
    if (!(policy.spec() instanceof RequestAuthentication spec) || spec.targetRef().isPresent()
        || !spec.targetRefs().isEmpty()) {
      return false;
    }
    if (!policy.namespace().equals(namespace) && !policy.namespace().equals(ROOT_NAMESPACE)) {
      return false;
    }
    return spec.selector().entrySet().stream().allMatch(l -> l.getValue().equals(labels.get(l.getKey())));
  }

  /** Warnings for policies no workload enforces: those attached by targetRef. */
  public static List<Problem> notEnforced(Collection<ConfigResource> policies) {
    List<Problem> warnings = new ArrayList<>();
    for (ConfigResource resource : policies) {
      if (resource.spec() instanceof RequestAuthentication spec
          && (spec.targetRef().isPresent() || !spec.targetRefs().isEmpty())) {
        warnings.add(warning(resource, spec.targetRef().isPresent() ? "spec.targetRef" : "spec.targetRefs",
            "not enforced by Inmesh's workloads: a policy attached by targetRef governs a gateway or waypoint; use a"
                + " selector"));
      }
    }
    return warnings;
  }

  /** The filter for the policies that apply to one workload; empty when they hold no rule. */
  public Result translate(Collection<ConfigResource> policies) {
    List<Problem> warnings = new ArrayList<>();
    JwtAuthentication.Builder config = JwtAuthentication.newBuilder().setBypassCorsPreflight(true);
    JwtRequirementOrList.Builder any = JwtRequirementOrList.newBuilder();
    int index = 0;
    List<ConfigResource> sorted = policies.stream().sorted(Comparator.comparing(ConfigResource::key)).toList();
    for (ConfigResource resource : sorted) {
      RequestAuthentication spec = resource.spec(RequestAuthentication.class);
      for (int i = 0; i < spec.jwtRules().size(); i++) {
        JwtRule rule = spec.jwtRules().get(i);
        String field = "spec.jwtRules[" + i + "]";
        if (rule.presence() == RequestAuthentication.Presence.REQUIRED) {
          warnings.add(warning(resource, field + ".presence", "REQUIRED is not enforced by the JWT filter: a request"
              + " without a token passes authentication, as with OPTIONAL; require a principal with an"
              + " AuthorizationPolicy (requestPrincipals: [\"*\"])"));
        }
        String name = "origins-" + index++;
        config.putProviders(name, provider(resource, field, rule, warnings));
        any.addRequirements(JwtRequirement.newBuilder().setProviderName(name));
      }
    }
    if (index == 0) {
      return new Result(Optional.empty(), warnings);
    }
    any.addRequirements(JwtRequirement.newBuilder().setAllowMissing(com.google.protobuf.Empty.getDefaultInstance()));
    config.addRules(RequirementRule.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRequires(JwtRequirement.newBuilder().setRequiresAny(any)));
    HttpFilter filter = HttpFilter.newBuilder()
        .setName(JwtAuthnParser.FILTER_NAME)
        .setTypedConfig(Any.pack(config.build()))
        .build();
    return new Result(Optional.of(filter), warnings);
  }

  private JwtProvider provider(ConfigResource resource, String field, JwtRule rule, List<Problem> warnings) {
    JwtProvider.Builder provider = JwtProvider.newBuilder()
        .addAllAudiences(rule.audiences())
        .setForward(rule.forwardOriginalToken())
        .setPayloadInMetadata(PAYLOAD_IN_METADATA)
        .setLocalJwks(DataSource.newBuilder().setInlineString(keys(resource, field, rule, warnings)));
    rule.issuer().ifPresent(provider::setIssuer);
    rule.fromHeaders().forEach(h -> provider.addFromHeaders(JwtHeader.newBuilder().setName(h.name())
        .setValuePrefix(h.prefix())));
    provider.addAllFromParams(rule.fromParams());
    provider.addAllFromCookies(rule.fromCookies());
    rule.outputPayloadToHeader().ifPresent(provider::setForwardPayloadHeader);
    rule.outputClaimToHeaders().forEach(c -> provider.addClaimToHeaders(JwtClaimToHeader.newBuilder()
        .setHeaderName(c.header()).setClaimName(c.claim())));
    Set<String> spaceDelimited = new LinkedHashSet<>(SPACE_DELIMITED);
    spaceDelimited.addAll(rule.spaceDelimitedClaims());
    provider.getNormalizePayloadInMetadataBuilder().addAllSpaceDelimitedClaims(spaceDelimited);
    return provider.build();
  }

  /** Inline keys as given, else the fetched ones, else keys no token matches (and a warning naming the URI). */
  private String keys(ConfigResource resource, String field, JwtRule rule, List<Problem> warnings) {
    if (rule.jwks().isPresent()) {
      return rule.jwks().get();
    }
    String uri = rule.jwksUri().orElseThrow(() -> new IllegalStateException(resource.key() + " " + field
        + ": a rule without jwks needs a jwksUri; the parser should have refused it"));
    Optional<Duration> wait = rule.timeout();
    if (wait.isPresent() && wait.get().compareTo(JwksResolver.MAX_TIMEOUT) > 0) {
      // translation waits for the first fetch: a long one would hold every workload's config back
      warnings.add(warning(resource, field + ".timeout", "a JWKS fetch waits at most " + JwksResolver.MAX_TIMEOUT.toSeconds()
          + " s, not " + wait.get().toSeconds() + " s"));
      wait = Optional.of(JwksResolver.MAX_TIMEOUT);
    }
    JwksResolver.Keys keys = jwks.keys(uri, wait);
    if (keys instanceof JwksResolver.Keys.Failed failed) {
      warnings.add(warning(resource, field + ".jwksUri", "cannot fetch the JWKS at " + uri + " (" + failed.reason()
          + "): tokens of issuer " + rule.issuer().orElse("(any)") + " are rejected (401) until it can be fetched;"
          + " requests without a token still pass authentication. mesh-control retries every "
          + JwksResolver.RETRY_INTERVAL.toSeconds() + " s"));
      return JwksResolver.UNAVAILABLE;
    }
    return ((JwksResolver.Keys.Fetched) keys).jwks();
  }

  private static Problem warning(ConfigResource resource, String field, String message) {
    return new Problem(Problem.Severity.WARNING, resource.source(), resource.key().toString(), field, message);
  }
}
