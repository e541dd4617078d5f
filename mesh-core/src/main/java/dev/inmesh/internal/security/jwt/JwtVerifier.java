package dev.inmesh.internal.security.jwt;

import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Verifies one token against the providers of the location it was found in, in Envoy's order and
 * with Envoy's reasons: the issuer picks the provider, then {@code exp}/{@code nbf} (with the
 * provider's clock skew), then {@code aud}, then the signature with a JWKS key of the token's
 * {@code kid} whose type the algorithm needs. The JOSE work is nimbus-jose-jwt's.
 *
 * <p>Only asymmetric algorithms are accepted (RS, PS and ES of 256, 384 and 512 bits): {@code none}
 * and encrypted tokens are refused, and an HMAC token never verifies, since a JWKS published for
 * verification holds no secret; that also defeats the attack of signing with a public key's bytes.
 */
final class JwtVerifier {
  static final String BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
  static final String BAD_HEADER = "Jwt header is an invalid JSON";
  static final String BAD_PAYLOAD = "Jwt payload is an invalid JSON";
  static final String BAD_ALG = "Jwt header [alg] is not supported";
  static final String UNKNOWN_ISSUER = "Jwt issuer is not configured";
  static final String EXPIRED = "Jwt is expired";
  static final String NOT_YET_VALID = "Jwt not yet valid";
  static final String AUDIENCE = "Audiences in Jwt are not allowed";
  static final String NO_KEY = "Jwks doesn't have key to match kid or alg from Jwt";
  static final String VERIFICATION_FAILS = "Jwt verification fails";

  private static final List<JWSAlgorithm> RSA = List.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
      JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512);
  private static final Map<JWSAlgorithm, Curve> EC = Map.of(JWSAlgorithm.ES256, Curve.P_256,
      JWSAlgorithm.ES384, Curve.P_384, JWSAlgorithm.ES512, Curve.P_521);

  private JwtVerifier() {}

  sealed interface Result {
    record Verified(JwtProvider provider, VerifiedJwt jwt, String payload) implements Result {}

    record Failed(String reason) implements Result {}
  }

  static Result verify(String token, List<JwtProvider> candidates, Instant now) {
    if (token.length() > JwtAuthentication.MAX_TOKEN_CHARS) {
      return failed(VERIFICATION_FAILS);
    }
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return failed(BAD_FORMAT);
    }
    JWT parsed;
    try {
      parsed = JWTParser.parse(token);
    } catch (ParseException e) {
      return failed(headerProblem(parts[0]));
    }
    if (!(parsed instanceof SignedJWT signed)) {
      return failed(BAD_ALG); // alg: none (a PlainJWT), or an encrypted token
    }
    JWSHeader header = signed.getHeader();
    JWSAlgorithm alg = header.getAlgorithm();
    if (!RSA.contains(alg) && !EC.containsKey(alg) && !JWSAlgorithm.Family.HMAC_SHA.contains(alg)) {
      return failed(BAD_ALG);
    }
    JWTClaimsSet claims;
    try {
      claims = signed.getJWTClaimsSet();
    } catch (ParseException e) {
      return failed(BAD_PAYLOAD);
    }
    Optional<JwtProvider> chosen = provider(claims.getIssuer(), candidates);
    if (chosen.isEmpty()) {
      return failed(UNKNOWN_ISSUER);
    }
    JwtProvider provider = chosen.get();
    long skew = provider.clockSkew().toSeconds();
    Date exp = claims.getExpirationTime();
    if (exp != null && now.getEpochSecond() > exp.toInstant().getEpochSecond() + skew) {
      return failed(EXPIRED);
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.toInstant().getEpochSecond() > now.getEpochSecond() + skew) {
      return failed(NOT_YET_VALID);
    }
    if (!audienceAllowed(provider.audiences(), claims.getAudience())) {
      return failed(AUDIENCE);
    }
    boolean candidateKey = false;
    for (JWK key : provider.keys().getKeys()) {
      Optional<JWSVerifier> verifier = verifier(key, header);
      if (verifier.isEmpty()) {
        continue;
      }
      candidateKey = true;
      try {
        if (signed.verify(verifier.get())) {
          Map<String, Object> payload = VerifiedJwt.normalized(claims.toJSONObject(), provider.spaceDelimitedClaims());
          return new Result.Verified(provider, new VerifiedJwt(provider.name(), provider.payloadInMetadata(), payload),
              parts[1]);
        }
      } catch (JOSEException | IllegalStateException e) {
        // a key nimbus cannot use for this token (too short, wrong curve) is one that does not verify it
      }
    }
    return failed(candidateKey ? VERIFICATION_FAILS : NO_KEY);
  }

  /** Why a token nimbus would not parse is refused: its algorithm ({@code none} with a signature), else its header. */
  private static String headerProblem(String header) {
    try {
      Header parsed = Header.parse(new Base64URL(header));
      return parsed.getAlgorithm() instanceof JWSAlgorithm ? BAD_HEADER : BAD_ALG;
    } catch (ParseException e) {
      return BAD_HEADER;
    }
  }

  private static Result failed(String reason) {
    return new Result.Failed(reason);
  }

  /** The provider whose issuer the token names; a provider without an issuer takes any. */
  private static Optional<JwtProvider> provider(String issuer, List<JwtProvider> candidates) {
    for (JwtProvider provider : candidates) {
      if (provider.issuer().isPresent() && provider.issuer().get().equals(issuer)) {
        return Optional.of(provider);
      }
    }
    return candidates.stream().filter(p -> p.issuer().isEmpty()).findFirst();
  }

  /** Envoy compares audiences without an {@code http://} or {@code https://} scheme and a trailing slash. */
  static boolean audienceAllowed(List<String> allowed, List<String> audiences) {
    if (allowed.isEmpty()) {
      return true;
    }
    for (String audience : audiences) {
      String actual = normalized(audience);
      for (String candidate : allowed) {
        if (normalized(candidate).equals(actual)) {
          return true;
        }
      }
    }
    return false;
  }

  private static String normalized(String audience) {
    String text = Objects.requireNonNullElse(audience, "");
    String lower = text.toLowerCase(Locale.ROOT);
    if (lower.startsWith("https://")) {
      text = text.substring("https://".length());
    } else if (lower.startsWith("http://")) {
      text = text.substring("http://".length());
    }
    return text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
  }

  /**
   * A verifier when {@code key} may check this token: the same {@code kid} when both name one, the
   * same {@code alg} when the key names one, use {@code sig} when it names a use, and the key type
   * (and curve) the algorithm needs. Symmetric keys are never used.
   */
  private static Optional<JWSVerifier> verifier(JWK key, JWSHeader header) {
    if (header.getKeyID() != null && key.getKeyID() != null && !header.getKeyID().equals(key.getKeyID())) {
      return Optional.empty();
    }
    if (key.getAlgorithm() != null && !key.getAlgorithm().getName().equals(header.getAlgorithm().getName())) {
      return Optional.empty();
    }
    if (key.getKeyUse() != null && !KeyUse.SIGNATURE.equals(key.getKeyUse())) {
      return Optional.empty();
    }
    try {
      JWSAlgorithm alg = header.getAlgorithm();
      if (key instanceof RSAKey rsa && RSA.contains(alg)) {
        return Optional.of(new RSASSAVerifier(rsa.toRSAPublicKey()));
      }
      if (key instanceof ECKey ec && EC.get(alg) != null && EC.get(alg).equals(ec.getCurve())) {
        return Optional.of(new ECDSAVerifier(ec.toECPublicKey()));
      }
    } catch (JOSEException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
