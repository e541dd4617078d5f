package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Empty;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import dev.inmesh.internal.security.jwt.JwtProvider;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class JwtAuthnParserTest {
  private static final String LISTENER = "Listener grpc/server?xds.resource.listening_address=0.0.0.0:9080";
  private static String jwks;

  @BeforeAll
  static void keys() throws Exception {
    jwks = "{\"keys\":[" + new RSAKeyGenerator(2048).keyID("k").generate().toPublicJWK().toJSONString() + "]}";
  }

  private static io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider.Builder provider() {
    return io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider.newBuilder()
        .setIssuer("https://issuer.example.com")
        .addAudiences("bookinfo")
        .setLocalJwks(DataSource.newBuilder().setInlineString(jwks))
        .addFromHeaders(JwtHeader.newBuilder().setName("X-Jwt").setValuePrefix("Token "))
        .addFromParams("jwt")
        .setForwardPayloadHeader("x-jwt-payload")
        .setPayloadInMetadata("payload");
  }

  /** The shape istiod writes: requires_any of every provider and allow_missing, for prefix /. */
  private static io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.Builder istio(
      io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider provider) {
    return io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.newBuilder()
        .putProviders("origins-0", provider)
        .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRequires(JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                .addRequirements(JwtRequirement.newBuilder().setProviderName("origins-0"))
                .addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance())))))
        .setBypassCorsPreflight(true);
  }

  @Test
  void readsIstiosShape() throws Exception {
    JwtAuthentication parsed = JwtAuthnParser.parse(LISTENER, "jwt", istio(provider().build()).build());

    assertThat(parsed.allowMissing()).isTrue();
    assertThat(parsed.bypassCorsPreflight()).isTrue();
    JwtProvider provider = parsed.providers().get(0);
    assertThat(provider.issuer()).contains("https://issuer.example.com");
    assertThat(provider.audiences()).containsExactly("bookinfo");
    assertThat(provider.headers()).containsExactly(new JwtProvider.TokenHeader("x-jwt", "Token "));
    assertThat(provider.params()).containsExactly("jwt");
    assertThat(provider.forward()).isFalse();
    assertThat(provider.payloadHeader()).contains("x-jwt-payload");
    assertThat(provider.keys().getKeyByKeyId("k")).isNotNull();
    assertThat(provider.clockSkew()).isEqualTo(JwtProvider.DEFAULT_CLOCK_SKEW);
  }

  @Test
  void refusesRemoteJwksNamingTheField() {
    var remote = provider().clearLocalJwks().setRemoteJwks(RemoteJwks.getDefaultInstance()).build();
    assertThatThrownBy(() -> JwtAuthnParser.parse(LISTENER, "jwt", istio(remote).build()))
        .isInstanceOf(XdsParseException.class)
        .satisfies(e -> assertThat(((XdsParseException) e).field()).isEqualTo("jwt.providers[origins-0]"))
        .hasMessageContaining("remote_jwks");
  }

  @Test
  void refusesKeysThatAreNotAJwkSet() {
    var bad = provider().setLocalJwks(DataSource.newBuilder().setInlineString("{\"keys\": 1}")).build();
    assertThatThrownBy(() -> JwtAuthnParser.parse(LISTENER, "jwt", istio(bad).build()))
        .satisfies(e -> assertThat(((XdsParseException) e).field()).isEqualTo("jwt.providers[origins-0].local_jwks"));
  }

  @Test
  void refusesRequirementsItCannotEnforce() {
    var config = istio(provider().build()).setRules(0, RequirementRule.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRequires(JwtRequirement.newBuilder().setAllowMissingOrFailed(Empty.getDefaultInstance()))).build();
    assertThatThrownBy(() -> JwtAuthnParser.parse(LISTENER, "jwt", config))
        .satisfies(e -> assertThat(((XdsParseException) e).field()).isEqualTo("jwt.rules[0].requires"))
        .hasMessageContaining("allow_missing_or_failed");
    var otherPath = istio(provider().build()).setRules(0, config.getRules(0).toBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix("/api"))).build();
    assertThatThrownBy(() -> JwtAuthnParser.parse(LISTENER, "jwt", otherPath))
        .satisfies(e -> assertThat(((XdsParseException) e).field()).isEqualTo("jwt.rules[0].match"));
    var unnamed = istio(provider().build()).putProviders("origins-1", provider().build()).build();
    assertThatThrownBy(() -> JwtAuthnParser.parse(LISTENER, "jwt", unnamed)).hasMessageContaining("every provider");
  }

  @Test
  void aSingleProviderRequirementRejectsMissingTokens() throws Exception {
    var config = istio(provider().build()).setRules(0, RequirementRule.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRequires(JwtRequirement.newBuilder().setProviderName("origins-0"))).build();
    assertThat(JwtAuthnParser.parse(LISTENER, "jwt", config).allowMissing()).isFalse();
    assertThat(List.of(JwtAuthnParser.parse(LISTENER, "jwt", config.toBuilder().clearRules().build())))
        .containsExactly(JwtAuthentication.NONE);
  }
}
