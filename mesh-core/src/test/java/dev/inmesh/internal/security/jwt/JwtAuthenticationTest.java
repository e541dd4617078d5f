package dev.inmesh.internal.security.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.inmesh.spi.RequestHead;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class JwtAuthenticationTest {
  private static final String ISSUER = "https://issuer.example.com";
  private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  private static RSAKey rsa;
  private static ECKey ec;
  private static RSAKey stranger;

  @BeforeAll
  static void keys() throws Exception {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    stranger = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
  }

  private static JwtProvider provider(String name, String issuer, List<String> audiences) {
    return new JwtProvider(name, Optional.of(issuer), audiences,
        new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())), List.of(), List.of(), List.of(), false,
        Optional.empty(), "payload", List.of(), List.of("scope"), JwtProvider.DEFAULT_CLOCK_SKEW);
  }

  private static JwtAuthentication authn(JwtProvider... providers) {
    return new JwtAuthentication(List.of(providers), true, true);
  }

  private static JWTClaimsSet.Builder claims() {
    return new JWTClaimsSet.Builder().issuer(ISSUER).subject("alice").audience("bookinfo")
        .expirationTime(Date.from(NOW.plusSeconds(600)));
  }

  private static String sign(JWTClaimsSet claims, JWSSigner signer, JWSAlgorithm alg, String kid) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  private static String rs256(JWTClaimsSet claims) throws Exception {
    return sign(claims, new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-1");
  }

  private static RequestHead head(String path, Map<String, String> headers) {
    Map<String, List<String>> copy = new HashMap<>();
    headers.forEach((k, v) -> copy.put(k, List.of(v)));
    return new RequestHead("GET", "productpage:9080", path, name -> copy.getOrDefault(name, List.of()));
  }

  private static RequestHead bearer(String token) {
    return head("/productpage", Map.of("authorization", "Bearer " + token));
  }

  private static JwtOutcome check(JwtAuthentication authn, RequestHead head) {
    return authn.authenticate(head, CLOCK);
  }

  private static String rejection(JwtOutcome outcome) {
    assertThat(outcome).isInstanceOf(JwtOutcome.Rejected.class);
    return ((JwtOutcome.Rejected) outcome).reason();
  }

  @Test
  void acceptsAnRs256TokenOfTheIssuerAndTakesItOffTheRequest() throws Exception {
    JwtOutcome outcome = check(authn(provider("origins-0", ISSUER, List.of("bookinfo"))), bearer(rs256(claims().build())));
    assertThat(outcome).isInstanceOf(JwtOutcome.Authenticated.class);
    VerifiedJwt jwt = outcome.jwt().orElseThrow();
    assertThat(jwt.principal()).contains(ISSUER + "/alice");
    assertThat(jwt.metadata(List.of("payload", "sub"))).contains("alice");
    assertThat(jwt.metadata(List.of("other", "sub"))).isEmpty();
    assertThat(outcome.headerChanges().removed()).containsExactly("authorization");
  }

  @Test
  void acceptsAnEs256Token() throws Exception {
    String token = sign(claims().build(), new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1");
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), bearer(token)))
        .isInstanceOf(JwtOutcome.Authenticated.class);
  }

  @Test
  void passesARequestWithoutATokenAndRejectsOneWhenATokenIsRequired() {
    RequestHead none = head("/", Map.of("authorization", "Basic dXNlcjpwYXNz"));
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), none)).isInstanceOf(JwtOutcome.Anonymous.class);
    JwtAuthentication required = new JwtAuthentication(List.of(provider("origins-0", ISSUER, List.of())), false, true);
    assertThat(rejection(check(required, none))).isEqualTo("Jwt is missing");
    assertThat(((JwtOutcome.Rejected) check(required, none)).challenge("http", "h:9080", "/p?q=1"))
        .isEqualTo("Bearer realm=\"http://h:9080/p\"");
    assertThat(new JwtOutcome.Rejected("Jwt is expired").challenge("https", "h", "/p"))
        .isEqualTo("Bearer realm=\"https://h/p\", error=\"invalid_token\"");
  }

  @Test
  void rejectsAnExpiredTokenBeyondSixtySecondsOfSkewOnly() throws Exception {
    JwtAuthentication authn = authn(provider("origins-0", ISSUER, List.of()));
    String justExpired = rs256(claims().expirationTime(Date.from(NOW.minusSeconds(30))).build());
    assertThat(check(authn, bearer(justExpired))).isInstanceOf(JwtOutcome.Authenticated.class);
    String expired = rs256(claims().expirationTime(Date.from(NOW.minusSeconds(61))).build());
    assertThat(rejection(check(authn, bearer(expired)))).isEqualTo("Jwt is expired");
    String early = rs256(claims().notBeforeTime(Date.from(NOW.plusSeconds(120))).build());
    assertThat(rejection(check(authn, bearer(early)))).isEqualTo("Jwt not yet valid");
  }

  @Test
  void rejectsATokenOfAnotherIssuer() throws Exception {
    String token = rs256(claims().issuer("https://evil.example.com").build());
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(token))))
        .isEqualTo("Jwt issuer is not configured");
  }

  @Test
  void checksAudiencesLikeEnvoyAndAcceptsAnyWhenNoneAreConfigured() throws Exception {
    String token = rs256(claims().audience(List.of("other", "https://bookinfo.example.com/")).build());
    assertThat(check(authn(provider("origins-0", ISSUER, List.of("bookinfo.example.com"))), bearer(token)))
        .isInstanceOf(JwtOutcome.Authenticated.class);
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of("bookinfo"))), bearer(token))))
        .isEqualTo("Audiences in Jwt are not allowed");
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), bearer(token)))
        .isInstanceOf(JwtOutcome.Authenticated.class);
  }

  @Test
  void rejectsATokenSignedByAnotherKeyWithTheSameKid() throws Exception {
    String token = sign(claims().build(), new RSASSASigner(stranger), JWSAlgorithm.RS256, "rsa-1");
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(token))))
        .isEqualTo("Jwt verification fails");
  }

  @Test
  void rejectsATokenWhosePayloadWasChanged() throws Exception {
    String[] parts = rs256(claims().build()).split("\\.");
    String forged = parts[0] + "." + Base64URL.encode(claims().subject("admin").build().toString()) + "." + parts[2];
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(forged))))
        .isEqualTo("Jwt verification fails");
  }

  @Test
  void rejectsAlgNone() {
    String token = new PlainJWT(claims().build()).serialize();
    assertThat(token).endsWith(".");
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(token))))
        .isEqualTo("Jwt header [alg] is not supported");
    String withSignature = token + "c2ln";
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(withSignature))))
        .isEqualTo("Jwt header [alg] is not supported");
  }

  @Test
  void rejectsAnHmacTokenSignedWithThePublicKeysBytes() throws Exception {
    byte[] publicBytes = rsa.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
    String token = sign(claims().build(), new MACSigner(publicBytes), JWSAlgorithm.HS256, "rsa-1");
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(token))))
        .isEqualTo("Jwks doesn't have key to match kid or alg from Jwt");
    byte[] der = rsa.toRSAPublicKey().getEncoded();
    String derToken = sign(claims().build(), new MACSigner(der), JWSAlgorithm.HS256, null);
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), bearer(derToken)))
        .isInstanceOf(JwtOutcome.Rejected.class);
  }

  @Test
  void rejectsAnRsaAlgorithmAgainstAnEcKeyAndAnUnknownKid() throws Exception {
    String unknownKid = sign(claims().build(), new RSASSASigner(rsa), JWSAlgorithm.RS256, "rsa-2");
    assertThat(rejection(check(authn(provider("origins-0", ISSUER, List.of())), bearer(unknownKid))))
        .isEqualTo("Jwks doesn't have key to match kid or alg from Jwt");
    String es384OnP256 = sign(claims().build(), new ECDSASigner(ec), JWSAlgorithm.ES256, "ec-1")
        .replaceFirst("^[^.]+", Base64URL.encode("{\"alg\":\"ES384\",\"kid\":\"ec-1\"}").toString());
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), bearer(es384OnP256)))
        .isInstanceOf(JwtOutcome.Rejected.class);
  }

  @Test
  void rejectsGarbage() {
    JwtAuthentication authn = authn(provider("origins-0", ISSUER, List.of()));
    assertThat(rejection(check(authn, bearer("not-a-jwt"))))
        .isEqualTo("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    assertThat(check(authn, bearer("e30.e30.c2ln"))).isInstanceOf(JwtOutcome.Rejected.class);
  }

  @Test
  void refusesTooLongTokensAndTooManyTokensUnread() throws Exception {
    JwtAuthentication authn = authn(provider("origins-0", ISSUER, List.of()));
    String tooLong = rs256(claims().claim("pad", "x".repeat(JwtAuthentication.MAX_TOKEN_CHARS)).build());
    assertThat(rejection(check(authn, bearer(tooLong)))).isEqualTo("Jwt verification fails");
    String token = rs256(claims().build());
    List<String> many = java.util.Collections.nCopies(JwtAuthentication.MAX_TOKENS + 1, "Bearer " + token);
    RequestHead head = new RequestHead("GET", "h", "/", name -> name.equals("authorization") ? many : List.of());
    assertThat(rejection(check(authn, head))).isEqualTo("Jwt verification fails");
  }

  @Test
  void readsConfiguredHeadersWithTheirPrefixAndQueryParameters() throws Exception {
    JwtProvider custom = new JwtProvider("origins-0", Optional.of(ISSUER), List.of(),
        new JWKSet(rsa.toPublicJWK()), List.of(new JwtProvider.TokenHeader("x-jwt", "Token ")), List.of("jwt"),
        List.of(), false, Optional.empty(), "payload", List.of(), List.of(), JwtProvider.DEFAULT_CLOCK_SKEW);
    JwtAuthentication authn = authn(custom);
    String token = rs256(claims().build());
    JwtOutcome fromHeader = check(authn, head("/", Map.of("x-jwt", "Token " + token)));
    assertThat(fromHeader).isInstanceOf(JwtOutcome.Authenticated.class);
    assertThat(fromHeader.headerChanges().removed()).contains("x-jwt");
    assertThat(check(authn, head("/", Map.of("x-jwt", token)))).as("without the prefix the header holds no token")
        .isInstanceOf(JwtOutcome.Anonymous.class);
    assertThat(check(authn, head("/?a=1&jwt=" + token, Map.of()))).isInstanceOf(JwtOutcome.Authenticated.class);
    assertThat(check(authn, bearer(token))).as("Authorization is not read once locations are named")
        .isInstanceOf(JwtOutcome.Anonymous.class);
    assertThat(rejection(check(authn, head("/?jwt=" + token + "x", Map.of())))).isEqualTo("Jwt verification fails");
  }

  @Test
  void readsTheDefaultQueryParameterAndCookies() throws Exception {
    String token = rs256(claims().build());
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), head("/?access_token=" + token, Map.of())))
        .isInstanceOf(JwtOutcome.Authenticated.class);
    JwtProvider cookie = new JwtProvider("origins-0", Optional.of(ISSUER), List.of(), new JWKSet(rsa.toPublicJWK()),
        List.of(), List.of(), List.of("session"), false, Optional.empty(), "payload", List.of(), List.of(),
        JwtProvider.DEFAULT_CLOCK_SKEW);
    assertThat(check(authn(cookie), head("/", Map.of("cookie", "a=b; session=" + token))))
        .isInstanceOf(JwtOutcome.Authenticated.class);
  }

  @Test
  void forwardsThePayloadAndClaimsAndStripsForgedCopies() throws Exception {
    JwtProvider out = new JwtProvider("origins-0", Optional.of(ISSUER), List.of(), new JWKSet(rsa.toPublicJWK()),
        List.of(), List.of(), List.of(), true, Optional.of("X-Jwt-Payload"), "payload",
        List.of(new JwtProvider.ClaimHeader("x-sub", "sub")), List.of(), JwtProvider.DEFAULT_CLOCK_SKEW);
    String token = rs256(claims().build());
    JwtOutcome outcome = check(authn(out), bearer(token));
    assertThat(outcome.headerChanges().removed()).doesNotContain("authorization");
    String payload = outcome.headerChanges().set().get("x-jwt-payload");
    assertThat(new String(Base64.getUrlDecoder().decode(payload), StandardCharsets.UTF_8)).contains("\"sub\":\"alice\"");
    assertThat(outcome.headerChanges().set()).containsEntry("x-sub", "alice");
    JwtOutcome anonymous = check(authn(out), head("/", Map.of("x-sub", "admin")));
    assertThat(anonymous.headerChanges().apply("x-sub", List.of("admin"))).isEmpty();
  }

  @Test
  void checksEachTokenAgainstTheProviderOfItsIssuer() throws Exception {
    JwtAuthentication two = authn(provider("origins-0", ISSUER, List.of("a")),
        provider("origins-1", "https://other.example.com", List.of("b")));
    assertThat(check(two, bearer(rs256(claims().issuer("https://other.example.com").audience("b").build()))).jwt()
        .orElseThrow().provider()).isEqualTo("origins-1");
    assertThat(rejection(check(two, bearer(rs256(claims().issuer("https://other.example.com").audience("a").build())))))
        .isEqualTo("Audiences in Jwt are not allowed");
  }

  @Test
  void splitsSpaceDelimitedClaims() throws Exception {
    VerifiedJwt jwt = check(authn(provider("origins-0", ISSUER, List.of())),
        bearer(rs256(claims().claim("scope", "read  write").build()))).jwt().orElseThrow();
    assertThat(jwt.metadata(List.of("payload", "scope"))).contains(List.of("read", "write"));
  }

  @Test
  void letsCorsPreflightsThrough() throws Exception {
    RequestHead preflight = new RequestHead("OPTIONS", "h", "/", name -> switch (name) {
      case "origin" -> List.of("https://app.example.com");
      case "access-control-request-method" -> List.of("GET");
      case "authorization" -> List.of("Bearer garbage");
      default -> List.of();
    });
    assertThat(check(authn(provider("origins-0", ISSUER, List.of())), preflight)).isInstanceOf(JwtOutcome.Anonymous.class);
    assertThat(check(new JwtAuthentication(List.of(provider("origins-0", ISSUER, List.of())), true, false), preflight))
        .isInstanceOf(JwtOutcome.Rejected.class);
  }

  @Test
  void withoutProvidersNothingIsCheckedOrChanged() {
    JwtOutcome outcome = check(JwtAuthentication.NONE, bearer("garbage"));
    assertThat(outcome).isInstanceOf(JwtOutcome.Anonymous.class);
    assertThat(outcome.headerChanges().isEmpty()).isTrue();
    assertThat(Duration.ofSeconds(60)).isEqualTo(JwtProvider.DEFAULT_CLOCK_SKEW);
  }
}
