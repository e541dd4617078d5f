package dev.inmesh.control.config.security;

import dev.inmesh.control.config.IstioSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's RequestAuthentication: the JWTs the selected workloads accept. A request without a token
 * passes (unless a rule's {@code presence} is REQUIRED); a request with an invalid token is
 * rejected. Authorization on the token's identity is AuthorizationPolicy's job.
 */
public record RequestAuthentication(
    Map<String, String> selector,
    Optional<PolicyTargetReference> targetRef,
    List<PolicyTargetReference> targetRefs,
    List<JwtRule> jwtRules) implements IstioSpec {

  public RequestAuthentication {
    selector = Map.copyOf(selector);
    Objects.requireNonNull(targetRef, "targetRef");
    targetRefs = List.copyOf(targetRefs);
    jwtRules = List.copyOf(jwtRules);
  }

  /** Whether a request must carry the rule's token (Istio's {@code presence}, OPTIONAL by default). */
  public enum Presence { OPTIONAL, REQUIRED }

  /**
   * One accepted issuer. With no locations set, Istio reads {@code Authorization: Bearer <token>}
   * and the {@code access_token} query parameter.
   */
  public record JwtRule(
      Optional<String> issuer,
      List<String> audiences,
      Optional<String> jwksUri,
      Optional<String> jwks,
      List<JwtHeader> fromHeaders,
      List<String> fromParams,
      List<String> fromCookies,
      Optional<String> outputPayloadToHeader,
      boolean forwardOriginalToken,
      List<ClaimToHeader> outputClaimToHeaders,
      Optional<Duration> timeout,
      List<String> spaceDelimitedClaims,
      Presence presence) {
    public JwtRule {
      Objects.requireNonNull(issuer, "issuer");
      audiences = List.copyOf(audiences);
      Objects.requireNonNull(jwksUri, "jwksUri");
      Objects.requireNonNull(jwks, "jwks");
      if (issuer.isEmpty() && jwksUri.isEmpty()) {
        throw new IllegalArgumentException("a JWT rule needs an issuer or a jwksUri");
      }
      fromHeaders = List.copyOf(fromHeaders);
      fromParams = List.copyOf(fromParams);
      fromCookies = List.copyOf(fromCookies);
      Objects.requireNonNull(outputPayloadToHeader, "outputPayloadToHeader");
      outputClaimToHeaders = List.copyOf(outputClaimToHeaders);
      Objects.requireNonNull(timeout, "timeout");
      spaceDelimitedClaims = List.copyOf(spaceDelimitedClaims);
      Objects.requireNonNull(presence, "presence");
    }
  }

  /** A header that carries the token, and the prefix (such as {@code "Bearer "}) to strip. */
  public record JwtHeader(String name, String prefix) {
    public JwtHeader {
      if (name == null || name.isEmpty()) {
        throw new IllegalArgumentException("header name is required, got '" + name + "'");
      }
      prefix = Objects.requireNonNullElse(prefix, "");
    }
  }

  /** Copies a verified claim into a request header for the application. */
  public record ClaimToHeader(String header, String claim) {
    public ClaimToHeader {
      if (header == null || !header.matches("[-_A-Za-z0-9]+")) {
        throw new IllegalArgumentException("header must be a plain header name, got '" + header + "'");
      }
      if (claim == null || claim.isEmpty()) {
        throw new IllegalArgumentException("claim is required, got '" + claim + "'");
      }
    }
  }
}
