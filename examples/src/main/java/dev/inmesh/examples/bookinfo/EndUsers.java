package dev.inmesh.examples.bookinfo;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/**
 * The demo's issuer of end-user tokens: an RSA key made at start, whose public JWK Set the
 * gateway's RequestAuthentication carries inline ({@code jwks}), and RS256 tokens of it, as Istio's
 * tasks use the tokens of {@code security/tools/jwt/samples}. A stranger's key of the same
 * {@code kid} signs the tokens that must be refused.
 */
final class EndUsers {
  static final String ISSUER = "bookinfo@inmesh.dev";
  private static final Duration LIFETIME = Duration.ofHours(1);

  private final RSAKey key;
  private final RSAKey stranger;

  private EndUsers(RSAKey key, RSAKey stranger) {
    this.key = key;
    this.stranger = stranger;
  }

  static EndUsers create() {
    try {
      return new EndUsers(new RSAKeyGenerator(2048).keyID("bookinfo").generate(),
          new RSAKeyGenerator(2048).keyID("bookinfo").generate());
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot make the demo's RSA key", e);
    }
  }

  /** The public JWK Set, as one line of JSON. */
  String jwks() {
    return new JWKSet(key.toPublicJWK()).toString(true);
  }

  /** A token for {@code subject} of the demo's issuer, valid for an hour. */
  String token(String subject) {
    return sign(subject, key);
  }

  /** A token that looks like the demo's but is signed by another key: its signature does not verify. */
  String forgedToken(String subject) {
    return sign(subject, stranger);
  }

  private static String sign(String subject, RSAKey with) {
    Instant now = Instant.now();
    JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(ISSUER).subject(subject)
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(LIFETIME))).build();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(with.getKeyID()).build(), claims);
    try {
      jwt.sign(new RSASSASigner(with));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a token", e);
    }
    return jwt.serialize();
  }
}
