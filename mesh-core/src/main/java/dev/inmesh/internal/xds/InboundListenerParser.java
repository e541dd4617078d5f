package dev.inmesh.internal.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.MtlsMode;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads a server listener ({@code grpc/server?…}) into an {@link InboundPolicy}. The mTLS mode is
 * the shape of its filter chains: one TLS chain is STRICT, one plaintext chain is DISABLE, and a
 * TLS chain matching {@code transport_protocol: tls} beside a plaintext one matching
 * {@code raw_buffer} is PERMISSIVE. Every chain must run the same HTTP filters: RBAC filters, then
 * the router, with an optional {@code jwt_authn} filter (end-user authentication) before the RBAC
 * filters, as istiod orders them. Anything else is refused with its field.
 */
final class InboundListenerParser {
  static final String TLS_SOCKET = "envoy.transport_sockets.tls";
  private static final String RBAC_TYPE = TypedConfigs.url(TypedConfigs.RBAC);
  private static final String ROUTER_TYPE = TypedConfigs.url(TypedConfigs.ROUTER);
  private static final String JWT_TYPE = TypedConfigs.url(JwtAuthnParser.TYPE);

  /** The HTTP filters of one chain that in-process servers run. */
  private record Filters(List<RBAC> rbac, Optional<JwtAuthentication> jwt) {}

  private InboundListenerParser() {}

  static InboundPolicy parse(Listener listener) throws XdsParseException {
    String resource = "Listener " + listener.getName();
    if (!listener.getAddress().hasSocketAddress()) {
      throw new XdsParseException(resource, "address", "a server listener needs a socket address");
    }
    int port = listener.getAddress().getSocketAddress().getPortValue();
    if (listener.getFilterChainsCount() == 0 && !listener.hasDefaultFilterChain()) {
      throw new XdsParseException(resource, "filter_chains", "a server listener needs a filter chain");
    }
    List<FilterChain> chains = new ArrayList<>(listener.getFilterChainsList());
    if (listener.hasDefaultFilterChain()) {
      chains.add(listener.getDefaultFilterChain());
    }
    boolean tls = false;
    boolean plaintext = false;
    boolean tlsMatched = false;
    Filters filters = null;
    for (int i = 0; i < chains.size(); i++) {
      FilterChain chain = chains.get(i);
      String field = i < listener.getFilterChainsCount() ? "filter_chains[" + i + "]" : "default_filter_chain";
      String protocol = transportProtocol(resource, field, chain.getFilterChainMatch());
      boolean chainTls = chain.hasTransportSocket();
      if (chainTls) {
        checkTls(resource, field + ".transport_socket", chain);
        if (protocol.equals("raw_buffer")) {
          throw new XdsParseException(resource, field + ".filter_chain_match.transport_protocol",
              "a TLS chain cannot match raw_buffer");
        }
        tls = true;
        tlsMatched |= protocol.equals("tls");
      } else {
        if (protocol.equals("tls")) {
          throw new XdsParseException(resource, field + ".filter_chain_match.transport_protocol",
              "a plaintext chain cannot match tls");
        }
        plaintext = true;
      }
      Filters chainFilters = httpFilters(resource, field, chain);
      if (filters != null && !filters.equals(chainFilters)) {
        throw new XdsParseException(resource, field, "every filter chain of a server listener must carry the same"
            + " authentication and authorization filters; this one differs from the first");
      }
      filters = chainFilters;
    }
    MtlsMode mode;
    if (tls && plaintext) {
      if (!tlsMatched) {
        throw new XdsParseException(resource, "filter_chains", "with both TLS and plaintext chains the TLS chain must"
            + " match transport_protocol: tls");
      }
      mode = MtlsMode.PERMISSIVE;
    } else {
      mode = tls ? MtlsMode.STRICT : MtlsMode.DISABLE;
    }
    return new InboundPolicy(listener.getName(), port, mode, Rbac.parse(listener.getName(), filters.rbac()),
        filters.jwt().orElse(JwtAuthentication.NONE));
  }

  private static String transportProtocol(String resource, String field, FilterChainMatch match)
      throws XdsParseException {
    FilterChainMatch rest = match.toBuilder().clearTransportProtocol().build();
    if (!rest.equals(FilterChainMatch.getDefaultInstance())) {
      throw new XdsParseException(resource, field + ".filter_chain_match",
          "only transport_protocol can be matched by in-process servers, got " + rest.toString().replace('\n', ' ').trim());
    }
    String protocol = match.getTransportProtocol();
    if (!protocol.isEmpty() && !protocol.equals("tls") && !protocol.equals("raw_buffer")) {
      throw new XdsParseException(resource, field + ".filter_chain_match.transport_protocol",
          "must be tls or raw_buffer, got " + protocol);
    }
    return protocol;
  }

  private static void checkTls(String resource, String field, FilterChain chain) throws XdsParseException {
    if (!chain.getTransportSocket().getName().equals(TLS_SOCKET)) {
      throw new XdsParseException(resource, field + ".name", "only " + TLS_SOCKET + " is supported, got "
          + chain.getTransportSocket().getName());
    }
    DownstreamTlsContext context;
    try {
      context = TypedConfigs.unpack(chain.getTransportSocket().getTypedConfig(), TypedConfigs.DOWNSTREAM_TLS_CONTEXT, DownstreamTlsContext.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_config", "not a DownstreamTlsContext: " + e.getMessage());
    }
    // the workload's own certificate and the mesh roots are the only ones an in-process server has
    if (!context.getRequireClientCertificate().getValue()) {
      throw new XdsParseException(resource, field + ".typed_config.require_client_certificate",
          "must be true: in-process servers terminate mesh mutual TLS only");
    }
  }

  private static Filters httpFilters(String resource, String field, FilterChain chain) throws XdsParseException {
    if (chain.getFiltersCount() != 1) {
      throw new XdsParseException(resource, field + ".filters", "a server chain must have exactly one network filter,"
          + " the HTTP connection manager; got " + chain.getFiltersCount());
    }
    Filter filter = chain.getFilters(0);
    HttpConnectionManager manager;
    try {
      manager = TypedConfigs.unpack(filter.getTypedConfig(), TypedConfigs.HTTP_CONNECTION_MANAGER, HttpConnectionManager.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".filters[0].typed_config", "not an HttpConnectionManager: " + e.getMessage());
    }
    List<RBAC> rbac = new ArrayList<>();
    Optional<JwtAuthentication> jwt = Optional.empty();
    for (int i = 0; i < manager.getHttpFiltersCount(); i++) {
      HttpFilter http = manager.getHttpFilters(i);
      String at = field + ".filters[0].http_filters[" + i + "]";
      Any config = http.getTypedConfig();
      if (config.getTypeUrl().equals(JWT_TYPE)) {
        if (jwt.isPresent() || !rbac.isEmpty()) {
          throw new XdsParseException(resource, at, "one jwt_authn filter, before the RBAC filters, is supported");
        }
        jwt = Optional.of(JwtAuthnParser.parse(resource, at + ".typed_config", config));
      } else if (config.getTypeUrl().equals(RBAC_TYPE)) {
        try {
          rbac.add(TypedConfigs.unpack(config, TypedConfigs.RBAC, RBAC.parser()));
        } catch (InvalidProtocolBufferException e) {
          throw new XdsParseException(resource, at, "cannot decode RBAC: " + e.getMessage());
        }
      } else if (config.getTypeUrl().equals(ROUTER_TYPE)) {
        if (i != manager.getHttpFiltersCount() - 1) {
          throw new XdsParseException(resource, at, "the router must be the last filter");
        }
      } else if (!http.getIsOptional()) {
        throw new XdsParseException(resource, at, "HTTP filter '" + http.getName() + "' (" + config.getTypeUrl()
            + ") is not supported by in-process servers (supported: jwt_authn, RBAC, router)");
      }
    }
    return new Filters(rbac, jwt);
  }
}
