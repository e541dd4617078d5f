package dev.inmesh.internal.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a gateway listener (named {@code 0.0.0.0_<port>}, as istiod names a gateway's) into a
 * {@link GatewayListener}: per filter chain the SNI names, the TLS termination and the RDS name of
 * its HttpConnectionManager, and the end-user authentication ({@code jwt_authn}) and authorization
 * (RBAC) its requests pass. Anything a gateway would have to do and cannot is refused naming the
 * field: another network filter, an HTTP filter other than jwt_authn, RBAC, fault and router (in
 * that order), a TLS setting it does not enforce, a certificate that is neither a file, a named
 * credential nor the mesh certificate (ISTIO_MUTUAL).
 */
public final class GatewayListenerParser {
  /** The name prefix of gateway listeners; mesh clients' API listeners are named {@code host:port}. */
  public static final String PREFIX = "0.0.0.0_";
  /** Istio's SDS name for a gateway credential: {@code kubernetes://<credentialName>}. */
  public static final String CREDENTIAL_PREFIX = "kubernetes://";
  /** Istio's SDS name of a MUTUAL credential's client CA: {@code kubernetes://<credentialName>-cacert}. */
  public static final String CA_SUFFIX = "-cacert";
  private static final String HCM = "envoy.filters.network.http_connection_manager";
  private static final String ROUTER = "envoy.filters.http.router";
  private static final String JWT_TYPE = TypedConfigs.url(JwtAuthnParser.TYPE);
  private static final String RBAC_TYPE = TypedConfigs.url(TypedConfigs.RBAC);
  private static final Set<String> SUPPORTED_FILTERS = Set.of(JwtAuthnParser.FILTER_NAME, "envoy.filters.http.rbac",
      RouteParser.FAULT_FILTER, ROUTER);

  /** What a connection manager holds for the gateway: where its routes come from and what each request passes first. */
  private record Manager(String routeConfigName, JwtAuthentication authentication, AuthorizationEngine authorization) {}
  private static final Set<String> ALPN = Set.of("h2", "http/1.1");

  private GatewayListenerParser() {}

  static boolean isGatewayListener(Listener listener) {
    return listener.getName().startsWith(PREFIX);
  }

  static ListenerConfig parse(Listener listener) throws XdsParseException {
    String resource = "Listener " + listener.getName();
    if (listener.hasApiListener()) {
      throw new XdsParseException(resource, "api_listener", "a gateway listener serves a port; it has no api_listener");
    }
    int port = listener.getAddress().getSocketAddress().getPortValue();
    if (port < 1 || port > 65535) {
      throw new XdsParseException(resource, "address.socket_address.port_value", "must be 1..65535, got " + port);
    }
    if (listener.getFilterChainsCount() == 0) {
      throw new XdsParseException(resource, "filter_chains", "a gateway listener needs at least one filter chain");
    }
    if (listener.hasDefaultFilterChain()) {
      throw new XdsParseException(resource, "default_filter_chain", "not supported on a gateway listener");
    }
    List<GatewayListener.Server> servers = new ArrayList<>();
    Set<String> names = new HashSet<>();
    boolean anyTls = false;
    boolean anyPlain = false;
    for (int i = 0; i < listener.getFilterChainsCount(); i++) {
      GatewayListener.Server server = server(resource, "filter_chains[" + i + "]", listener.getFilterChains(i));
      for (String name : server.serverNames().isEmpty() ? List.of("*any*") : server.serverNames()) {
        if (!names.add(name)) {
          throw new XdsParseException(resource, "filter_chains[" + i + "].filter_chain_match.server_names",
              "server name " + name + " is matched by an earlier filter chain too");
        }
      }
      anyTls |= server.tls().isPresent();
      anyPlain |= server.tls().isEmpty();
      servers.add(server);
    }
    if (anyTls && anyPlain) {
      throw new XdsParseException(resource, "filter_chains", "a port is either TLS or plaintext; this one mixes both");
    }
    if (anyPlain && servers.size() > 1) {
      throw new XdsParseException(resource, "filter_chains", "a plaintext port has one filter chain; got " + servers.size());
    }
    return ListenerConfig.of(new GatewayListener(listener.getName(), port, servers));
  }

  private static GatewayListener.Server server(String resource, String field, FilterChain chain) throws XdsParseException {
    var match = chain.getFilterChainMatch();
    if (match.getDestinationPort().getValue() != 0 || match.getPrefixRangesCount() > 0
        || match.getSourcePrefixRangesCount() > 0 || match.getApplicationProtocolsCount() > 0
        || match.getSourcePortsCount() > 0 || !match.getTransportProtocol().isEmpty()) {
      throw new XdsParseException(resource, field + ".filter_chain_match",
          "a gateway filter chain matches on server_names only");
    }
    if (chain.getFiltersCount() != 1 || !chain.getFilters(0).getName().equals(HCM)) {
      throw new XdsParseException(resource, field + ".filters", "a gateway filter chain holds one " + HCM);
    }
    Manager manager = manager(resource, field + ".filters[0]", chain.getFilters(0));
    Optional<GatewayListener.ServerTls> tls = Optional.empty();
    if (chain.hasTransportSocket()) {
      tls = Optional.of(tls(resource, field + ".transport_socket", chain));
    } else if (match.getServerNamesCount() > 0) {
      throw new XdsParseException(resource, field + ".filter_chain_match.server_names", "SNI names need TLS on the chain");
    }
    return new GatewayListener.Server(match.getServerNamesList(), manager.routeConfigName(), tls,
        manager.authentication(), manager.authorization());
  }

  private static Manager manager(String resource, String field, Filter filter) throws XdsParseException {
    HttpConnectionManager manager;
    try {
      manager = TypedConfigs.unpack(filter.getTypedConfig(), TypedConfigs.HTTP_CONNECTION_MANAGER, HttpConnectionManager.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_config", "not an HttpConnectionManager: " + e.getMessage());
    }
    Optional<JwtAuthentication> jwt = Optional.empty();
    List<RBAC> rbac = new ArrayList<>();
    boolean faultSeen = false;
    for (int i = 0; i < manager.getHttpFiltersCount(); i++) {
      HttpFilter http = manager.getHttpFilters(i);
      String at = field + ".http_filters[" + i + "]";
      Any config = http.getTypedConfig();
      if (config.getTypeUrl().equals(JWT_TYPE)) {
        if (jwt.isPresent() || !rbac.isEmpty() || faultSeen) {
          throw new XdsParseException(resource, at, "one jwt_authn filter, before the RBAC and fault filters, is supported");
        }
        jwt = Optional.of(JwtAuthnParser.parse(resource, at + ".typed_config", config));
      } else if (config.getTypeUrl().equals(RBAC_TYPE)) {
        if (faultSeen) {
          throw new XdsParseException(resource, at, "RBAC filters run before the fault filter at the gateway");
        }
        try {
          rbac.add(TypedConfigs.unpack(config, TypedConfigs.RBAC, RBAC.parser()));
        } catch (InvalidProtocolBufferException e) {
          throw new XdsParseException(resource, at + ".typed_config", "cannot decode RBAC: " + e.getMessage());
        }
      } else if (http.getName().equals(RouteParser.FAULT_FILTER)) {
        faultSeen = true;
      } else if (!http.getName().equals(ROUTER) && !http.getIsOptional()) {
        throw new XdsParseException(resource, at,
            "HTTP filter '" + http.getName() + "' is not supported at the gateway (supported: " + SUPPORTED_FILTERS + ")");
      }
    }
    if (manager.getHttpFiltersCount() == 0
        || !manager.getHttpFilters(manager.getHttpFiltersCount() - 1).getName().equals(ROUTER)) {
      throw new XdsParseException(resource, field + ".http_filters", "the last filter must be the router");
    }
    if (manager.getRouteSpecifierCase() != HttpConnectionManager.RouteSpecifierCase.RDS
        || !manager.getRds().getConfigSource().hasAds()) {
      throw new XdsParseException(resource, field + ".rds", "a gateway takes its routes over RDS on ADS");
    }
    return new Manager(manager.getRds().getRouteConfigName(), jwt.orElse(JwtAuthentication.NONE),
        Rbac.parse(resource, rbac));
  }

  private static GatewayListener.ServerTls tls(String resource, String field, FilterChain chain) throws XdsParseException {
    if (!chain.getTransportSocket().getName().equals(InboundListenerParser.TLS_SOCKET)) {
      throw new XdsParseException(resource, field + ".name", "only " + InboundListenerParser.TLS_SOCKET + " is supported");
    }
    DownstreamTlsContext context;
    try {
      context = TypedConfigs.unpack(chain.getTransportSocket().getTypedConfig(), TypedConfigs.DOWNSTREAM_TLS_CONTEXT,
          DownstreamTlsContext.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_config", "not a DownstreamTlsContext: " + e.getMessage());
    }
    String where = field + ".typed_config";
    if (context.hasRequireSni() && context.getRequireSni().getValue()) {
      throw new XdsParseException(resource, where + ".require_sni", "not supported at the gateway");
    }
    GatewayListener.Mode mode = context.getRequireClientCertificate().getValue()
        ? GatewayListener.Mode.MUTUAL : GatewayListener.Mode.SIMPLE;
    CommonTlsContext common = context.getCommonTlsContext();
    String ctx = where + ".common_tls_context";
    if (common.hasTlsParams() && !common.getTlsParams().equals(common.getTlsParams().getDefaultInstanceForType())) {
      throw new XdsParseException(resource, ctx + ".tls_params", "TLS versions and cipher suites are not enforced at the gateway yet");
    }
    for (String protocol : common.getAlpnProtocolsList()) {
      if (!ALPN.contains(protocol)) {
        throw new XdsParseException(resource, ctx + ".alpn_protocols", "'" + protocol + "' is not served; supported: " + ALPN);
      }
    }
    if (common.hasTlsCertificateProviderInstance()) {
      return meshTls(resource, where, context);
    }
    Optional<String> credential = Optional.empty();
    Optional<String> chainFile = Optional.empty();
    Optional<String> keyFile = Optional.empty();
    Optional<String> caFile = Optional.empty();
    if (common.getTlsCertificateSdsSecretConfigsCount() + common.getTlsCertificatesCount() != 1) {
      throw new XdsParseException(resource, ctx, "a gateway server has exactly one certificate"
          + " (tls_certificates or tls_certificate_sds_secret_configs)");
    }
    if (common.getTlsCertificateSdsSecretConfigsCount() == 1) {
      credential = Optional.of(credential(resource, ctx + ".tls_certificate_sds_secret_configs[0]",
          common.getTlsCertificateSdsSecretConfigs(0)));
    } else {
      var certificate = common.getTlsCertificates(0);
      chainFile = Optional.of(file(resource, ctx + ".tls_certificates[0].certificate_chain", certificate.getCertificateChain()));
      keyFile = Optional.of(file(resource, ctx + ".tls_certificates[0].private_key", certificate.getPrivateKey()));
    }
    switch (common.getValidationContextTypeCase()) {
      case VALIDATION_CONTEXT -> {
        var validation = common.getValidationContext();
        if (validation.getMatchSubjectAltNamesCount() > 0 || validation.getVerifyCertificateHashCount() > 0
            || validation.getVerifyCertificateSpkiCount() > 0 || validation.hasCrl()) {
          throw new XdsParseException(resource, ctx + ".validation_context",
              "subject alt names, certificate hashes and SPKIs, and CRLs are not enforced at the gateway yet");
        }
        if (validation.hasTrustedCa()) {
          caFile = Optional.of(file(resource, ctx + ".validation_context.trusted_ca", validation.getTrustedCa()));
        }
      }
      case VALIDATION_CONTEXT_SDS_SECRET_CONFIG -> {
        String name = credential(resource, ctx + ".validation_context_sds_secret_config",
            common.getValidationContextSdsSecretConfig());
        if (credential.isEmpty() || !name.equals(credential.get() + CA_SUFFIX)) {
          throw new XdsParseException(resource, ctx + ".validation_context_sds_secret_config",
              "the client CA must be the certificate's own credential with '" + CA_SUFFIX + "', got '" + name + "'");
        }
      }
      case VALIDATIONCONTEXTTYPE_NOT_SET -> { }
      default -> throw new XdsParseException(resource, ctx, common.getValidationContextTypeCase() + " is not supported");
    }
    if (mode == GatewayListener.Mode.MUTUAL && credential.isEmpty() && caFile.isEmpty()) {
      throw new XdsParseException(resource, ctx + ".validation_context.trusted_ca",
          "require_client_certificate needs the CA to verify clients against");
    }
    if (mode == GatewayListener.Mode.SIMPLE && (caFile.isPresent()
        || common.getValidationContextTypeCase() == CommonTlsContext.ValidationContextTypeCase.VALIDATION_CONTEXT_SDS_SECRET_CONFIG)) {
      throw new XdsParseException(resource, where + ".require_client_certificate",
          "a client CA without require_client_certificate (Istio's OPTIONAL_MUTUAL) is not supported");
    }
    return new GatewayListener.ServerTls(mode, credential, chainFile, keyFile, caFile, common.getAlpnProtocolsList());
  }

  /**
   * Istio's ISTIO_MUTUAL server: the mesh certificate (a certificate provider instance, as mesh mTLS
   * is sent to every client), clients verified against the mesh roots, a client certificate required.
   */
  private static GatewayListener.ServerTls meshTls(String resource, String where, DownstreamTlsContext context)
      throws XdsParseException {
    CommonTlsContext common = context.getCommonTlsContext();
    String ctx = where + ".common_tls_context";
    if (common.getTlsCertificatesCount() > 0 || common.getTlsCertificateSdsSecretConfigsCount() > 0) {
      throw new XdsParseException(resource, ctx, "the mesh certificate (tls_certificate_provider_instance) and another"
          + " certificate on one server");
    }
    if (!common.hasValidationContext() || !common.getValidationContext().hasCaCertificateProviderInstance()) {
      throw new XdsParseException(resource, ctx + ".validation_context.ca_certificate_provider_instance",
          "the mesh certificate needs the mesh roots to verify clients against");
    }
    var validation = common.getValidationContext();
    if (validation.getMatchSubjectAltNamesCount() > 0 || validation.getVerifyCertificateHashCount() > 0
        || validation.getVerifyCertificateSpkiCount() > 0 || validation.hasCrl() || validation.hasTrustedCa()) {
      throw new XdsParseException(resource, ctx + ".validation_context",
          "mesh mTLS at the gateway verifies clients against the mesh roots only; authorization decides who may call");
    }
    if (!context.getRequireClientCertificate().getValue()) {
      throw new XdsParseException(resource, where + ".require_client_certificate",
          "mesh mTLS requires the client's mesh certificate");
    }
    return new GatewayListener.ServerTls(GatewayListener.Mode.ISTIO_MUTUAL, Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), common.getAlpnProtocolsList());
  }

  private static String credential(String resource, String field, SdsSecretConfig config) throws XdsParseException {
    String name = config.getName();
    if (!name.startsWith(CREDENTIAL_PREFIX) || name.length() == CREDENTIAL_PREFIX.length()) {
      throw new XdsParseException(resource, field + ".name", "must be " + CREDENTIAL_PREFIX + "<credentialName>, got '" + name + "'");
    }
    String credential = name.substring(CREDENTIAL_PREFIX.length());
    if (credential.contains("/") || credential.contains("\\") || credential.startsWith(".")) {
      throw new XdsParseException(resource, field + ".name", "a credential name is one path segment, got '" + credential + "'");
    }
    return credential;
  }

  private static String file(String resource, String field, DataSource source) throws XdsParseException {
    if (source.getSpecifierCase() != DataSource.SpecifierCase.FILENAME || source.getFilename().isEmpty()) {
      throw new XdsParseException(resource, field, "must name a file on the gateway's machine");
    }
    return source.getFilename();
  }
}
