package dev.inmesh.control.config.security;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.security.RequestAuthentication.ClaimToHeader;
import dev.inmesh.control.config.security.RequestAuthentication.JwtHeader;
import dev.inmesh.control.config.security.RequestAuthentication.JwtRule;
import dev.inmesh.control.config.security.RequestAuthentication.Presence;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads {@code security.istio.io} RequestAuthentication with Istio's CRD, CEL and webhook rules.
 * The translator turns the rules into the JWT filter of each selected workload's inbound listener.
 */
public final class RequestAuthenticationParser implements SpecParser<RequestAuthentication> {
  /** Istio's CRD pattern for outputClaimToHeaders[].header. */
  private static final Pattern HEADER_NAME = Pattern.compile("[-_A-Za-z0-9]+");
  /** An RFC 9110 token: any header name Envoy can write. */
  private static final Pattern HEADER_TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  private static final Duration MIN_TIMEOUT = Duration.ofMillis(1);
  private static final int MAX_JWKS_URI = 2048;
  private static final ObjectMapper JSON = new ObjectMapper();

  public RequestAuthenticationParser() {}

  @Override
  public RequestAuthentication parse(SpecReader spec, String namespace) {
    WorkloadTargets.checkOneOf(spec);
    Map<String, String> selector = WorkloadTargets.selector(spec);
    Optional<PolicyTargetReference> targetRef = WorkloadTargets.targetRef(spec);
    List<PolicyTargetReference> targetRefs = WorkloadTargets.targetRefs(spec);
    List<JwtRule> rules = new ArrayList<>();
    for (SpecReader rule : spec.list("jwtRules")) {
      readRule(rule).ifPresent(rules::add);
      rule.finish();
    }
    return new RequestAuthentication(selector, targetRef, targetRefs, rules);
  }

  private static Optional<JwtRule> readRule(SpecReader rule) {
    long before = WorkloadTargets.errorCount(rule);
    Optional<String> issuer = rule.string("issuer").filter(s -> !s.isEmpty());
    List<String> audiences = WorkloadTargets.nonEmptyStrings(rule, "audiences");
    Optional<String> jwksUri = rule.string("jwksUri").filter(s -> !s.isEmpty());
    jwksUri.ifPresent(uri -> checkJwksUri(rule, uri));
    Optional<String> jwks = rule.string("jwks").filter(s -> !s.isEmpty());
    jwks.ifPresent(text -> checkJwks(rule, text));
    if (issuer.isEmpty() && jwksUri.isEmpty()) {
      rule.error("issuer", "is required unless jwksUri is set: without either Istio cannot find the signing keys");
    }
    if (jwksUri.isPresent() && jwks.isPresent()) {
      rule.warn("jwksUri", "is ignored because jwks is also set; set only one of them");
    }

    List<JwtHeader> fromHeaders = new ArrayList<>();
    for (SpecReader header : rule.list("fromHeaders")) {
      String name = header.requiredString("name");
      String prefix = header.string("prefix").orElse("");
      header.finish();
      if (!name.isEmpty()) {
        fromHeaders.add(new JwtHeader(name, prefix));
      }
    }
    List<String> fromParams = WorkloadTargets.nonEmptyStrings(rule, "fromParams");
    List<String> fromCookies = WorkloadTargets.nonEmptyStrings(rule, "fromCookies");
    Optional<String> payloadHeader = rule.string("outputPayloadToHeader").filter(s -> !s.isEmpty());
    payloadHeader.filter(header -> !HEADER_TOKEN.matcher(header).matches()).ifPresent(header ->
        rule.error("outputPayloadToHeader", "must be an HTTP header name, got '" + header + "'"));
    boolean forward = rule.bool("forwardOriginalToken").orElse(false);

    List<ClaimToHeader> claimHeaders = new ArrayList<>();
    for (SpecReader claimHeader : rule.list("outputClaimToHeaders")) {
      String header = claimHeader.requiredString("header");
      String claim = claimHeader.requiredString("claim");
      claimHeader.finish();
      boolean validHeader = !header.isEmpty() && checkHeaderName(claimHeader, "header", header);
      if (validHeader && !claim.isEmpty()) {
        claimHeaders.add(new ClaimToHeader(header, claim));
      }
    }
    Optional<Duration> timeout = rule.duration("timeout", MIN_TIMEOUT);
    List<String> spaceDelimited = WorkloadTargets.nonEmptyStrings(rule, "spaceDelimitedClaims");
    Presence presence = rule.enumValue("presence", Presence.class).orElse(Presence.OPTIONAL);

    if (WorkloadTargets.errorCount(rule) > before) {
      return Optional.empty();
    }
    return Optional.of(new JwtRule(issuer, audiences, jwksUri, jwks, fromHeaders, fromParams, fromCookies,
        payloadHeader, forward, claimHeaders, timeout, spaceDelimited, presence));
  }

  private static void checkJwksUri(SpecReader rule, String text) {
    if (text.length() > MAX_JWKS_URI) {
      rule.error("jwksUri", "must be at most " + MAX_JWKS_URI + " characters, got " + text.length());
      return;
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      rule.error("jwksUri", "must be an http:// or https:// URL; '" + text + "' does not parse: " + e.getReason());
      return;
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equals("http") || scheme.equals("https"))) {
      rule.error("jwksUri", "url must have scheme http:// or https://, got '" + text + "'");
    } else if (uri.getHost() == null || uri.getHost().isEmpty()) {
      rule.error("jwksUri", "url must name a host, got '" + text + "'");
    }
  }

  /** Inline keys must be a JSON Web Key Set (or a single key), as Istio's JWK parser requires. */
  private static void checkJwks(SpecReader rule, String text) {
    try {
      JsonNode keys = JSON.readTree(text);
      boolean keySet = keys != null && keys.isObject() && keys.path("keys").isArray();
      boolean singleKey = keys != null && keys.isObject() && keys.path("kty").isTextual();
      if (!keySet && !singleKey) {
        rule.error("jwks", "jwks parse error: must be a JSON object with a \"keys\" list (a JWK Set)");
      }
    } catch (JsonProcessingException e) {
      rule.error("jwks", "jwks parse error: not JSON: " + e.getOriginalMessage());
    }
  }

  private static boolean checkHeaderName(SpecReader reader, String field, String header) {
    if (!HEADER_NAME.matcher(header).matches()) {
      reader.error(field, "header in body should match '^[-_A-Za-z0-9]+$', got '" + header + "'");
      return false;
    }
    return true;
  }
}
