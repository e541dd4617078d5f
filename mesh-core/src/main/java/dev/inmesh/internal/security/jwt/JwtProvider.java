package dev.inmesh.internal.security.jwt;

import com.nimbusds.jose.jwk.JWKSet;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One issuer a listener accepts: Envoy's {@code JwtProvider} as Istio writes it for a
 * RequestAuthentication rule.
 *
 * @param name the provider's name in the filter config ({@code origins-0}), named in logs
 * @param issuer the {@code iss} a token must carry; empty accepts any issuer, as Envoy does
 * @param audiences a token must name one of these in {@code aud}; empty accepts any audience
 * @param keys the signing keys (mesh-control inlines the JWKS it fetched)
 * @param fromHeaders headers that carry the token, each with the prefix before it
 * @param fromParams query parameters that carry the token
 * @param fromCookies cookies that carry the token
 * @param forward whether the token stays on the request the application sees
 * @param payloadHeader a header that receives the verified payload, base64url-encoded
 * @param payloadInMetadata the key under which authorization finds the claims ({@code payload} for Istio)
 * @param claimHeaders verified claims copied into request headers
 * @param spaceDelimitedClaims claims whose space-separated string is matched as a list ({@code scope})
 * @param clockSkew the leeway on {@code exp} and {@code nbf}
 */
public record JwtProvider(
    String name,
    Optional<String> issuer,
    List<String> audiences,
    JWKSet keys,
    List<TokenHeader> fromHeaders,
    List<String> fromParams,
    List<String> fromCookies,
    boolean forward,
    Optional<String> payloadHeader,
    String payloadInMetadata,
    List<ClaimHeader> claimHeaders,
    List<String> spaceDelimitedClaims,
    Duration clockSkew) {

  /** Envoy's default leeway on {@code exp} and {@code nbf}. */
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  /** Where Envoy looks when a provider names no location. */
  public static final List<TokenHeader> DEFAULT_HEADERS = List.of(new TokenHeader("authorization", "Bearer "));
  public static final List<String> DEFAULT_PARAMS = List.of("access_token");

  public JwtProvider {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(issuer, "issuer");
    audiences = List.copyOf(audiences);
    Objects.requireNonNull(keys, "keys");
    fromHeaders = List.copyOf(fromHeaders);
    fromParams = List.copyOf(fromParams);
    fromCookies = List.copyOf(fromCookies);
    Objects.requireNonNull(payloadHeader, "payloadHeader");
    payloadHeader = payloadHeader.map(h -> h.toLowerCase(Locale.ROOT));
    Objects.requireNonNull(payloadInMetadata, "payloadInMetadata");
    claimHeaders = List.copyOf(claimHeaders);
    spaceDelimitedClaims = List.copyOf(spaceDelimitedClaims);
    if (clockSkew.isNegative()) {
      throw new IllegalArgumentException("clockSkew must not be negative, got " + clockSkew);
    }
  }

  /** The headers this provider reads, Envoy's defaults when it names no location at all. */
  public List<TokenHeader> headers() {
    return noLocation() ? DEFAULT_HEADERS : fromHeaders;
  }

  /** The query parameters this provider reads, Envoy's default when it names no location at all. */
  public List<String> params() {
    return noLocation() ? DEFAULT_PARAMS : fromParams;
  }

  private boolean noLocation() {
    return fromHeaders.isEmpty() && fromParams.isEmpty() && fromCookies.isEmpty();
  }

  /** A header that carries a token after {@code prefix} (such as {@code "Bearer "}). */
  public record TokenHeader(String name, String prefix) {
    public TokenHeader {
      Objects.requireNonNull(name, "name");
      if (name.isEmpty()) {
        throw new IllegalArgumentException("a token header needs a name");
      }
      name = name.toLowerCase(Locale.ROOT);
      Objects.requireNonNull(prefix, "prefix");
    }
  }

  /** Copies the verified claim {@code claim} into the request header {@code header}. */
  public record ClaimHeader(String header, String claim) {
    public ClaimHeader {
      Objects.requireNonNull(header, "header");
      header = header.toLowerCase(Locale.ROOT);
      Objects.requireNonNull(claim, "claim");
    }
  }
}
