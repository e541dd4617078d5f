package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TypedConfigsTest {
  @Test
  void namesAreTheMessagesFullNames() {
    Map<String, Descriptor> names = Map.ofEntries(
        Map.entry(TypedConfigs.LISTENER, Listener.getDescriptor()),
        Map.entry(TypedConfigs.ROUTE_CONFIGURATION, RouteConfiguration.getDescriptor()),
        Map.entry(TypedConfigs.CLUSTER, Cluster.getDescriptor()),
        Map.entry(TypedConfigs.CLUSTER_LOAD_ASSIGNMENT, ClusterLoadAssignment.getDescriptor()),
        Map.entry(TypedConfigs.HTTP_CONNECTION_MANAGER, HttpConnectionManager.getDescriptor()),
        Map.entry(TypedConfigs.ROUTER, Router.getDescriptor()),
        Map.entry(TypedConfigs.RBAC, RBAC.getDescriptor()),
        Map.entry(TypedConfigs.HTTP_FAULT, HTTPFault.getDescriptor()),
        Map.entry(TypedConfigs.UPSTREAM_TLS_CONTEXT, UpstreamTlsContext.getDescriptor()),
        Map.entry(TypedConfigs.DOWNSTREAM_TLS_CONTEXT, DownstreamTlsContext.getDescriptor()),
        Map.entry(TypedConfigs.URI_TEMPLATE_MATCH_CONFIG, UriTemplateMatchConfig.getDescriptor()));
    names.forEach((name, descriptor) -> assertThat(name).isEqualTo(descriptor.getFullName()));
    assertThat(TypedConfigs.url(TypedConfigs.CLUSTER)).isEqualTo(AdsClient.CDS);
  }

  @Test
  void unpacksWhatAnyPackWrote() throws InvalidProtocolBufferException {
    Cluster cluster = Cluster.newBuilder().setName("outbound|9080||reviews.default.svc.cluster.local").build();
    assertThat(TypedConfigs.unpack(Any.pack(cluster), TypedConfigs.CLUSTER, Cluster.parser())).isEqualTo(cluster);
    // only the name after the last '/' identifies the type, as for Any.is
    Any otherPrefix = Any.pack(cluster, "example.com/types");
    assertThat(TypedConfigs.unpack(otherPrefix, TypedConfigs.CLUSTER, Cluster.parser())).isEqualTo(cluster);
  }

  @Test
  void anotherTypeIsRefusedNamingBoth() {
    Any listener = Any.pack(Listener.newBuilder().setName("reviews:9080").build());
    assertThatThrownBy(() -> TypedConfigs.unpack(listener, TypedConfigs.CLUSTER, Cluster.parser()))
        .isInstanceOf(InvalidProtocolBufferException.class)
        .hasMessage("the type is 'type.googleapis.com/envoy.config.listener.v3.Listener', not envoy.config.cluster.v3.Cluster");
  }

  @Test
  void bytesThatDoNotParseAreRefused() {
    Any broken = Any.newBuilder().setTypeUrl(AdsClient.CDS)
        .setValue(com.google.protobuf.ByteString.copyFrom(new byte[] {(byte) 0x0a, (byte) 0x05, 'a'})).build();
    assertThatThrownBy(() -> TypedConfigs.unpack(broken, TypedConfigs.CLUSTER, Cluster.parser()))
        .isInstanceOf(InvalidProtocolBufferException.class);
  }
}
