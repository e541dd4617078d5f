package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.inmesh.inbound.InboundPolicy;
import dev.inmesh.inbound.MtlsMode;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import org.junit.jupiter.api.Test;

class InboundListenerParserTest {
  private static final String NAME = "grpc/server?xds.resource.listening_address=10.0.0.1:8080";

  @Test
  void oneTlsChainIsStrictAndItsRbacFiltersBecomeTheAuthorizationEngine() throws Exception {
    InboundPolicy policy = InboundListenerParser.parse(listener(tlsChain("", true)));

    assertThat(policy.mode()).isEqualTo(MtlsMode.STRICT);
    assertThat(policy.port()).isEqualTo(8080);
    assertThat(policy.listener()).isEqualTo(NAME);
    assertThat(policy.authorization().engines()).hasSize(1);
  }

  @Test
  void tlsAndPlaintextChainsMatchedOnTransportProtocolArePermissive() throws Exception {
    InboundPolicy policy = InboundListenerParser.parse(listener(tlsChain("tls", true), plainChain("raw_buffer")));

    assertThat(policy.mode()).isEqualTo(MtlsMode.PERMISSIVE);
  }

  @Test
  void onePlaintextChainIsDisable() throws Exception {
    assertThat(InboundListenerParser.parse(listener(plainChain(""))).mode()).isEqualTo(MtlsMode.DISABLE);
  }

  @Test
  void tlsWithoutClientCertificatesIsRefusedWithItsField() {
    assertThatThrownBy(() -> InboundListenerParser.parse(listener(tlsChain("", false))))
        .isInstanceOf(XdsParseException.class)
        .hasMessageContaining(NAME)
        .hasMessageContaining("filter_chains[0].transport_socket.typed_config.require_client_certificate");
  }

  @Test
  void aMatchOnAnythingButTheTransportProtocolIsRefused() {
    FilterChain chain = plainChain("").toBuilder()
        .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames("example.com")).build();

    assertThatThrownBy(() -> InboundListenerParser.parse(listener(chain)))
        .hasMessageContaining("filter_chains[0].filter_chain_match").hasMessageContaining("server_names");
  }

  @Test
  void chainsWithDifferentAuthorizationAreRefused() {
    FilterChain open = plainChain("raw_buffer").toBuilder().clearFilters().addFilters(manager(false)).build();

    assertThatThrownBy(() -> InboundListenerParser.parse(listener(tlsChain("tls", true), open)))
        .hasMessageContaining("filter_chains[1]").hasMessageContaining("same authentication and authorization filters");
  }

  @Test
  void aClusterWithAnUpstreamTlsContextNeedsTheServersSpiffeIds() throws Exception {
    Cluster.Builder cluster = Cluster.newBuilder().setName("outbound|9080||reviews")
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder()
            .setEdsConfig(ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())));
    UpstreamTlsContext.Builder context = UpstreamTlsContext.newBuilder().setSni("outbound_.9080_._.reviews");

    assertThatThrownBy(() -> ClusterParser.parse(cluster.setTransportSocket(socket(context.build())).build()))
        .hasMessageContaining("match_subject_alt_names");

    context.setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(CertificateValidationContext.newBuilder()
        .addMatchSubjectAltNames(StringMatcher.newBuilder().setExact("spiffe://cluster.local/ns/default/sa/reviews"))));
    var tls = ClusterParser.parse(cluster.setTransportSocket(socket(context.build())).build()).tls().orElseThrow();
    assertThat(tls.identities()).containsExactly("spiffe://cluster.local/ns/default/sa/reviews");
    assertThat(tls.sni()).isEqualTo("outbound_.9080_._.reviews");

    assertThatThrownBy(() -> ClusterParser.parse(cluster.addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder()
        .setName("tlsMode-istio")).build())).hasMessageContaining("transport_socket_matches");
  }

  @Test
  void istiosPerEndpointTransportIsTlsForMarkedEndpointsOnly() throws Exception {
    UpstreamTlsContext context = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .setValidationContext(CertificateValidationContext.newBuilder()
            .addMatchSubjectAltNames(StringMatcher.newBuilder().setExact("spiffe://cluster.local/ns/default/sa/reviews")))).build();
    com.google.protobuf.Struct istio = com.google.protobuf.Struct.newBuilder()
        .putFields("tlsMode", com.google.protobuf.Value.newBuilder().setStringValue("istio").build()).build();
    Cluster.Builder cluster = Cluster.newBuilder().setName("outbound|9080||reviews")
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder()
            .setEdsConfig(ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-istio").setMatch(istio)
            .setTransportSocket(socket(context)))
        .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-disabled")
            .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")));

    var tls = ClusterParser.parse(cluster.build()).tls().orElseThrow();
    assertThat(tls.scope()).isEqualTo(dev.inmesh.internal.model.UpstreamTls.Scope.MARKED_ENDPOINTS);
    assertThat(tls.identities()).containsExactly("spiffe://cluster.local/ns/default/sa/reviews");

    var marked = io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder()
        .setEndpoint(endpoint(9001))
        .setMetadata(io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder().putFilterMetadata("envoy.transport_socket_match", istio));
    var plain = io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder().setEndpoint(endpoint(9002));
    var endpoints = ClusterParser.endpoints(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
        .setClusterName("outbound|9080||reviews")
        .addEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder().addLbEndpoints(marked).addLbEndpoints(plain))
        .build());
    assertThat(endpoints).extracting(dev.inmesh.internal.model.Endpoint::meshTls).containsExactly(true, false);
    assertThat(tls.appliesTo(endpoints.get(0))).isTrue();
    assertThat(tls.appliesTo(endpoints.get(1))).as("no downgrade of the others, and no mTLS to one that has none").isFalse();
    java.util.Optional<dev.inmesh.internal.model.UpstreamTls> clusterTls = java.util.Optional.of(tls);
    assertThat(dev.inmesh.internal.model.UpstreamTls.forEndpoint(clusterTls, endpoints.get(0))).isSameAs(clusterTls);
    assertThat(dev.inmesh.internal.model.UpstreamTls.forEndpoint(clusterTls, endpoints.get(1))).isEmpty();

    // TLS for any other match is not Istio's shape, and is refused by name
    Cluster.Builder other = cluster.clone().clearTransportSocketMatches()
        .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("zone")
            .setMatch(com.google.protobuf.Struct.newBuilder()
                .putFields("zone", com.google.protobuf.Value.newBuilder().setStringValue("a").build()))
            .setTransportSocket(socket(context)));
    assertThatThrownBy(() -> ClusterParser.parse(other.build())).hasMessageContaining("transport_socket_matches[0]")
        .hasMessageContaining("tlsMode: istio");
  }

  private static io.envoyproxy.envoy.config.endpoint.v3.Endpoint endpoint(int port) {
    return io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder().setAddress(io.envoyproxy.envoy.config.core.v3.Address
        .newBuilder().setSocketAddress(io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder()
            .setAddress("127.0.0.1").setPortValue(port))).build();
  }

  private static TransportSocket socket(UpstreamTlsContext context) {
    return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(context)).build();
  }

  private static Listener listener(FilterChain... chains) {
    Listener.Builder listener = Listener.newBuilder().setName(NAME)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("10.0.0.1").setPortValue(8080)));
    for (FilterChain chain : chains) {
      listener.addFilterChains(chain);
    }
    return listener.build();
  }

  private static FilterChain tlsChain(String protocol, boolean requireClientCertificate) {
    DownstreamTlsContext context = DownstreamTlsContext.newBuilder()
        .setRequireClientCertificate(BoolValue.of(requireClientCertificate)).build();
    return FilterChain.newBuilder()
        .setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol(protocol))
        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(context)))
        .addFilters(manager(true))
        .build();
  }

  private static FilterChain plainChain(String protocol) {
    return FilterChain.newBuilder()
        .setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol(protocol))
        .addFilters(manager(true))
        .build();
  }

  private static Filter manager(boolean withRbac) {
    HttpConnectionManager.Builder manager = HttpConnectionManager.newBuilder();
    if (withRbac) {
      RBAC rbac = RBAC.newBuilder().setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
          .setAction(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW)
          .putPolicies("ns[default]-policy[allow-all]-rule[0]", Policy.newBuilder()
              .addPermissions(Permission.newBuilder().setAny(true))
              .addPrincipals(Principal.newBuilder().setAny(true)).build())).build();
      manager.addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(rbac)));
    }
    manager.addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(Router.getDefaultInstance())));
    return Filter.newBuilder().setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(manager.build())).build();
  }
}
