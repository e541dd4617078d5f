package dev.inmesh.internal.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import dev.inmesh.internal.security.jwt.JwtProvider;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.Builder;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads Envoy's {@code jwt_authn} filter config, in the shape istiod writes for a workload's
 * RequestAuthentications, into a {@link JwtAuthentication}: providers with inline keys (mesh-control
 * fetches {@code jwksUri} and inlines it, as istiod does) and one rule for {@code /} that requires
 * one of the providers or, with {@code allow_missing}, no token. Whatever else Envoy could be told
 * is refused with its field rather than ignored.
 */
public final class JwtAuthnParser {
  /** Envoy's filter name, which the RBAC metadata matchers name too. */
  public static final String FILTER_NAME = "envoy.filters.http.jwt_authn";
  static final String TYPE = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
  /** A JWKS beyond this size is refused: it comes from the config, and each key is parsed. */
  static final int MAX_JWKS_CHARS = 256 * 1024;

  private JwtAuthnParser() {}

  /** Decodes the filter's typed config; {@code resource} and {@code field} name it in errors. */
  static JwtAuthentication parse(String resource, String field, com.google.protobuf.Any config) throws XdsParseException {
    io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication proto;
    try {
      proto = TypedConfigs.unpack(config, TYPE,
          io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field, "cannot decode JwtAuthentication: " + e.getMessage());
    }
    return parse(resource, field, proto);
  }

  /** Reads a decoded config; public so that mesh-control's tests can compare with what it writes. */
  public static JwtAuthentication parse(String resource, String field,
      io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication proto) throws XdsParseException {
    Builder rest = proto.toBuilder().clearProviders().clearRules().clearBypassCorsPreflight().clearStatPrefix();
    if (!rest.build().equals(rest.getDefaultInstanceForType())) {
      throw new XdsParseException(resource, field, "only providers, rules, bypass_cors_preflight and stat_prefix are"
          + " supported, got " + rest.build().toString().replace('\n', ' ').trim());
    }
    if (proto.getRulesCount() == 0) {
      // Envoy verifies nothing without a rule
      return JwtAuthentication.NONE;
    }
    if (proto.getRulesCount() > 1) {
      throw new XdsParseException(resource, field + ".rules", "only one rule (prefix /) is supported, got "
          + proto.getRulesCount());
    }
    RequirementRule rule = proto.getRules(0);
    String at = field + ".rules[0]";
    if (!rule.getMatch().getPrefix().equals("/") || rule.getMatch().hasCaseSensitive()
        || rule.getMatch().getHeadersCount() > 0 || rule.getMatch().getQueryParametersCount() > 0
        || rule.getMatch().hasRuntimeFraction() || rule.getMatch().hasGrpc() || rule.getMatch().hasTlsContext()
        || rule.getMatch().getDynamicMetadataCount() > 0) {
      throw new XdsParseException(resource, at + ".match", "only prefix / is supported: every request is checked");
    }
    if (!rule.hasRequires()) {
      throw new XdsParseException(resource, at + ".requires", "is required (requirement_name is not supported)");
    }
    Set<String> required = new LinkedHashSet<>();
    boolean allowMissing = requirement(resource, at + ".requires", rule.getRequires(), required, true);
    TreeMap<String, io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider> byName =
        new TreeMap<>(proto.getProvidersMap());
    if (!byName.keySet().equals(required)) {
      throw new XdsParseException(resource, at + ".requires", "must name every provider once, and only those; the"
          + " providers are " + byName.keySet() + ", the rule names " + required);
    }
    List<JwtProvider> providers = new ArrayList<>();
    for (var entry : byName.entrySet()) {
      providers.add(provider(resource, field + ".providers[" + entry.getKey() + "]", entry.getKey(), entry.getValue()));
    }
    return new JwtAuthentication(providers, allowMissing, proto.getBypassCorsPreflight());
  }

  /** Collects the provider names; answers whether a missing token passes. */
  private static boolean requirement(String resource, String field, JwtRequirement requirement, Set<String> names,
      boolean top) throws XdsParseException {
    switch (requirement.getRequiresTypeCase()) {
      case PROVIDER_NAME -> {
        if (!names.add(requirement.getProviderName())) {
          throw new XdsParseException(resource, field + ".provider_name", "names '" + requirement.getProviderName()
              + "' twice");
        }
        return false;
      }
      case REQUIRES_ANY -> {
        if (!top) {
          throw new XdsParseException(resource, field + ".requires_any", "may not be nested");
        }
        boolean allowMissing = false;
        List<JwtRequirement> any = requirement.getRequiresAny().getRequirementsList();
        for (int i = 0; i < any.size(); i++) {
          JwtRequirement each = any.get(i);
          if (each.hasAllowMissing()) {
            allowMissing = true;
          } else {
            requirement(resource, field + ".requires_any.requirements[" + i + "]", each, names, false);
          }
        }
        return allowMissing;
      }
      default -> throw new XdsParseException(resource, field, "only provider_name and requires_any of provider names"
          + " and allow_missing are supported (Istio's shape), got "
          + requirement.getRequiresTypeCase().name().toLowerCase(java.util.Locale.ROOT));
    }
  }

  private static JwtProvider provider(String resource, String field, String name,
      io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider provider) throws XdsParseException {
    var rest = provider.toBuilder().clearIssuer().clearAudiences().clearLocalJwks().clearForward().clearFromHeaders()
        .clearFromParams().clearFromCookies().clearForwardPayloadHeader().clearPayloadInMetadata()
        .clearClaimToHeaders().clearClockSkewSeconds().clearNormalizePayloadInMetadata().clearJwtCacheConfig()
        .clearClearRouteCache().build();
    if (!rest.equals(rest.getDefaultInstanceForType())) {
      throw new XdsParseException(resource, field, "unsupported provider fields (Inmesh needs inline local_jwks; it"
          + " supports issuer, audiences, from_headers, from_params, from_cookies, forward, forward_payload_header,"
          + " payload_in_metadata, claim_to_headers, clock_skew_seconds, normalize_payload_in_metadata): "
          + rest.toString().replace('\n', ' ').trim());
    }
    if (!provider.hasLocalJwks()) {
      throw new XdsParseException(resource, field + ".local_jwks", "is required (remote_jwks is fetched by"
          + " mesh-control and inlined)");
    }
    JWKSet keys = keys(resource, field + ".local_jwks", provider.getLocalJwks());
    List<JwtProvider.TokenHeader> headers = new ArrayList<>();
    for (int i = 0; i < provider.getFromHeadersCount(); i++) {
      JwtHeader header = provider.getFromHeaders(i);
      if (header.getName().isEmpty()) {
        throw new XdsParseException(resource, field + ".from_headers[" + i + "].name", "must not be empty");
      }
      headers.add(new JwtProvider.TokenHeader(header.getName(), header.getValuePrefix()));
    }
    List<JwtProvider.ClaimHeader> claims = new ArrayList<>();
    for (int i = 0; i < provider.getClaimToHeadersCount(); i++) {
      JwtClaimToHeader claim = provider.getClaimToHeaders(i);
      if (claim.getHeaderName().isEmpty() || claim.getClaimName().isEmpty()) {
        throw new XdsParseException(resource, field + ".claim_to_headers[" + i + "]", "needs header_name and claim_name");
      }
      claims.add(new JwtProvider.ClaimHeader(claim.getHeaderName(), claim.getClaimName()));
    }
    Duration skew = provider.getClockSkewSeconds() == 0
        ? JwtProvider.DEFAULT_CLOCK_SKEW : Duration.ofSeconds(provider.getClockSkewSeconds());
    return new JwtProvider(name,
        provider.getIssuer().isEmpty() ? Optional.empty() : Optional.of(provider.getIssuer()),
        provider.getAudiencesList(), keys, headers, provider.getFromParamsList(), provider.getFromCookiesList(),
        provider.getForward(),
        provider.getForwardPayloadHeader().isEmpty() ? Optional.empty() : Optional.of(provider.getForwardPayloadHeader()),
        provider.getPayloadInMetadata(), claims,
        provider.getNormalizePayloadInMetadata().getSpaceDelimitedClaimsList(), skew);
  }

  private static JWKSet keys(String resource, String field, DataSource source) throws XdsParseException {
    String text = switch (source.getSpecifierCase()) {
      case INLINE_STRING -> source.getInlineString();
      case INLINE_BYTES -> source.getInlineBytes().toString(StandardCharsets.UTF_8);
      default -> throw new XdsParseException(resource, field, "must be inline_string or inline_bytes, got "
          + source.getSpecifierCase().name().toLowerCase(java.util.Locale.ROOT));
    };
    if (text.length() > MAX_JWKS_CHARS) {
      throw new XdsParseException(resource, field, "a JWKS of at most " + MAX_JWKS_CHARS + " characters, got "
          + text.length());
    }
    try {
      JWKSet set = text.contains("\"keys\"") ? JWKSet.parse(text) : new JWKSet(JWK.parse(text));
      if (set.getKeys().isEmpty()) {
        throw new XdsParseException(resource, field, "the JWKS holds no key");
      }
      return set;
    } catch (ParseException e) {
      throw new XdsParseException(resource, field, "not a JWK Set: " + e.getMessage());
    }
  }
}
