package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.inmesh.internal.model.GatewayListener;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateProviderPluginInstance;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatewayListenerParserTest {
  @Test
  void readsEachFilterChainAsAServerWithItsSniNamesTlsAndRoutes() throws Exception {
    Listener listener = listener(8443,
        chain("https.8443.a", List.of("shop.example.com"), tls(credential("shop"), null, false)),
        chain("https.8443.b", List.of("admin.example.com"), tls(files("/c.pem", "/k.pem"), "/ca.pem", true)));

    GatewayListener parsed = GatewayListenerParser.parse(listener).gateway().orElseThrow();

    assertThat(parsed.port()).isEqualTo(8443);
    assertThat(parsed.servers()).extracting(GatewayListener.Server::routeConfigName).containsExactly("https.8443.a", "https.8443.b");
    assertThat(parsed.servers().get(0).tls().orElseThrow().credentialName()).hasValue("shop");
    GatewayListener.ServerTls mutual = parsed.servers().get(1).tls().orElseThrow();
    assertThat(mutual.mode()).isEqualTo(GatewayListener.Mode.MUTUAL);
    assertThat(mutual.caCertificates()).hasValue("/ca.pem");
  }

  @Test
  void refusesAnHttpFilterTheGatewayCannotRunNamingIt() {
    Listener listener = plaintext(HttpFilter.newBuilder().setName("envoy.filters.http.ext_authz").build());

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("filter_chains[0].filters[0].http_filters[0]").hasMessageContaining("ext_authz");
  }

  @Test
  void readsTheJwtAuthnAndRbacFiltersAsTheServersAuthenticationAndAuthorization() throws Exception {
    Listener listener = plaintext(jwtFilter(JWKS), rbacFilter(), fault());

    GatewayListener.Server server = GatewayListenerParser.parse(listener).gateway().orElseThrow().servers().get(0);

    assertThat(server.authentication().providers()).extracting(p -> p.issuer().orElseThrow())
        .containsExactly("https://issuer.example.com");
    assertThat(server.authentication().allowMissing()).isTrue();
    assertThat(server.authorization().engines()).hasSize(1);
    assertThat(server.routeConfigName()).isEqualTo("http.8080");
  }

  @Test
  void aServerWithoutThoseFiltersAuthenticatesNothingAndAllowsEverything() throws Exception {
    GatewayListener.Server server = GatewayListenerParser.parse(plaintext(fault())).gateway().orElseThrow().servers().get(0);

    assertThat(server.authentication()).isEqualTo(dev.inmesh.internal.security.jwt.JwtAuthentication.NONE);
    assertThat(server.authorization()).isEqualTo(dev.inmesh.internal.security.authz.AuthorizationEngine.EMPTY);
  }

  @Test
  void refusesAJwtAuthnFilterItCannotReadNamingTheField() {
    Listener listener = plaintext(jwtFilter("{\"keys\": 1}"));

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("filter_chains[0].filters[0].http_filters[0].typed_config");
  }

  @Test
  void refusesAuthenticationOrAuthorizationAfterTheFaultFilter() {
    assertThatThrownBy(() -> GatewayListenerParser.parse(plaintext(fault(), rbacFilter())))
        .isInstanceOf(XdsParseException.class).hasMessageContaining("http_filters[1]").hasMessageContaining("RBAC");
    assertThatThrownBy(() -> GatewayListenerParser.parse(plaintext(rbacFilter(), jwtFilter(JWKS))))
        .isInstanceOf(XdsParseException.class).hasMessageContaining("http_filters[1]").hasMessageContaining("jwt_authn");
  }

  @Test
  void refusesACredentialNameThatIsNotOnePathSegment() {
    Listener listener = listener(8443, chain("https.8443.a", List.of("shop.example.com"), tls(credential("../../etc"), null, false)));

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("tls_certificate_sds_secret_configs[0].name");
  }

  @Test
  void refusesTlsSettingsItWouldNotEnforce() {
    DownstreamTlsContext context = tls(credential("shop"), null, false);
    context = context.toBuilder().setCommonTlsContext(context.getCommonTlsContext().toBuilder()
        .setTlsParams(TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsParameters.TlsProtocol.TLSv1_3))).build();
    Listener listener = listener(8443, chain("https.8443.a", List.of(), context));

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("common_tls_context.tls_params");
  }

  @Test
  void readsTheMeshCertificateWithMeshRootsAndARequiredClientCertificateAsIstioMutual() throws Exception {
    Listener listener = listener(80, chain("https.80.a", List.of("api.partner.example"), meshTls(true)));

    GatewayListener.ServerTls tls = GatewayListenerParser.parse(listener).gateway().orElseThrow()
        .servers().get(0).tls().orElseThrow();

    assertThat(tls.mode()).isEqualTo(GatewayListener.Mode.ISTIO_MUTUAL);
    assertThat(tls.credentialName()).isEmpty();
    assertThat(tls.certificateChain()).isEmpty();
    assertThat(tls.alpn()).containsExactly("h2");
  }

  @Test
  void refusesTheMeshCertificateWithoutARequiredClientCertificate() {
    Listener listener = listener(80, chain("https.80.a", List.of(), meshTls(false)));

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("require_client_certificate").hasMessageContaining("mesh certificate");
  }

  @Test
  void refusesTheMeshCertificateWithAClientCaFileBeside() {
    DownstreamTlsContext context = meshTls(true);
    context = context.toBuilder().setCommonTlsContext(context.getCommonTlsContext().toBuilder()
        .setValidationContext(context.getCommonTlsContext().getValidationContext().toBuilder()
            .setTrustedCa(DataSource.newBuilder().setFilename("/ca.pem")))).build();
    Listener listener = listener(80, chain("https.80.a", List.of(), context));

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("common_tls_context.validation_context");
  }

  @Test
  void refusesAPortThatMixesTlsAndPlaintextChains() {
    Listener listener = listener(8443, chain("a", List.of("shop.example.com"), tls(credential("shop"), null, false)),
        chain("b", List.of(), null));

    assertThatThrownBy(() -> GatewayListenerParser.parse(listener)).isInstanceOf(XdsParseException.class)
        .hasMessageContaining("mixes both");
  }

  private static final String JWKS;

  static {
    try {
      JWKS = "{\"keys\":[" + new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048).keyID("k").generate().toPublicJWK()
          .toJSONString() + "]}";
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** A plaintext gateway port on 8080 whose connection manager runs {@code filters}, then the router. */
  private static Listener plaintext(HttpFilter... filters) {
    HttpConnectionManager.Builder manager = manager("http.8080").toBuilder();
    for (int i = 0; i < filters.length; i++) {
      manager.addHttpFilters(i, filters[i]);
    }
    return listener(8080, FilterChain.newBuilder()
        .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
            .setTypedConfig(Any.pack(manager.build())))
        .build());
  }

  /** The jwt_authn filter istiod writes for one RequestAuthentication rule: the provider, or no token at all. */
  private static HttpFilter jwtFilter(String jwks) {
    var provider = io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider.newBuilder()
        .setIssuer("https://issuer.example.com")
        .setLocalJwks(DataSource.newBuilder().setInlineString(jwks));
    var config = io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.newBuilder()
        .putProviders("origins-0", provider.build())
        .addRules(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule.newBuilder()
            .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix("/"))
            .setRequires(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement.newBuilder()
                .setRequiresAny(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList.newBuilder()
                    .addRequirements(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement.newBuilder()
                        .setProviderName("origins-0"))
                    .addRequirements(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement.newBuilder()
                        .setAllowMissing(com.google.protobuf.Empty.getDefaultInstance())))))
        .build();
    return HttpFilter.newBuilder().setName("envoy.filters.http.jwt_authn").setTypedConfig(Any.pack(config)).build();
  }

  /** An ALLOW RBAC filter with one policy: any request with a request principal. */
  private static HttpFilter rbacFilter() {
    var policy = io.envoyproxy.envoy.config.rbac.v3.Policy.newBuilder()
        .addPermissions(io.envoyproxy.envoy.config.rbac.v3.Permission.newBuilder().setAny(true))
        .addPrincipals(io.envoyproxy.envoy.config.rbac.v3.Principal.newBuilder().setAny(true));
    var rbac = io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
        .setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
            .setAction(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW)
            .putPolicies("ns[istio-system]-policy[require-jwt]-rule[0]", policy.build()))
        .build();
    return HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(rbac)).build();
  }

  private static HttpFilter fault() {
    return HttpFilter.newBuilder().setName("envoy.filters.http.fault")
        .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDefaultInstance())).build();
  }

  private static Listener listener(int port, FilterChain... chains) {
    return Listener.newBuilder().setName(GatewayListenerParser.PREFIX + port)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port)))
        .addAllFilterChains(List.of(chains)).build();
  }

  private static FilterChain chain(String routes, List<String> names, DownstreamTlsContext tls) {
    FilterChain.Builder chain = FilterChain.newBuilder()
        .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(names))
        .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
            .setTypedConfig(Any.pack(manager(routes))));
    if (tls != null) {
      chain.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)));
    }
    return chain.build();
  }

  private static HttpConnectionManager manager(String routes) {
    return HttpConnectionManager.newBuilder()
        .setRds(Rds.newBuilder().setRouteConfigName(routes)
            .setConfigSource(ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
  }

  private static CommonTlsContext.Builder credential(String name) {
    return CommonTlsContext.newBuilder().addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("kubernetes://" + name));
  }

  private static CommonTlsContext.Builder files(String certificate, String key) {
    return CommonTlsContext.newBuilder().addTlsCertificates(TlsCertificate.newBuilder()
        .setCertificateChain(DataSource.newBuilder().setFilename(certificate))
        .setPrivateKey(DataSource.newBuilder().setFilename(key)));
  }

  /** Mesh mTLS as mesh-control sends it to every workload: the certificate provider's identity and roots. */
  private static DownstreamTlsContext meshTls(boolean requireClientCertificate) {
    CommonTlsContext common = CommonTlsContext.newBuilder()
        .setTlsCertificateProviderInstance(CertificateProviderPluginInstance.newBuilder()
            .setInstanceName("default").setCertificateName("default"))
        .setValidationContext(CertificateValidationContext.newBuilder().setCaCertificateProviderInstance(
            CertificateProviderPluginInstance.newBuilder().setInstanceName("default").setCertificateName("ROOTCA")))
        .addAlpnProtocols("h2")
        .build();
    return DownstreamTlsContext.newBuilder().setCommonTlsContext(common)
        .setRequireClientCertificate(BoolValue.of(requireClientCertificate)).build();
  }

  private static DownstreamTlsContext tls(CommonTlsContext.Builder common, String ca, boolean mutual) {
    if (ca != null) {
      common.setValidationContext(CertificateValidationContext.newBuilder().setTrustedCa(DataSource.newBuilder().setFilename(ca)));
    }
    return DownstreamTlsContext.newBuilder().setCommonTlsContext(common.addAlpnProtocols("h2"))
        .setRequireClientCertificate(BoolValue.of(mutual)).build();
  }
}
