package dev.inmesh.internal.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;

/**
 * Unpacks an {@code Any} by the type name in its URL. {@link Any#unpack} compares the name with
 * the message class's descriptor, and building that descriptor builds those of every proto file
 * it imports: for Envoy's listener, cluster and connection manager, about 0.3 s of a new JVM's
 * start on the ADS thread, before the first config can be used. Parsing needs no descriptor.
 */
final class TypedConfigs {
  static final String LISTENER = "envoy.config.listener.v3.Listener";
  static final String ROUTE_CONFIGURATION = "envoy.config.route.v3.RouteConfiguration";
  static final String CLUSTER = "envoy.config.cluster.v3.Cluster";
  static final String CLUSTER_LOAD_ASSIGNMENT = "envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String HTTP_CONNECTION_MANAGER =
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  static final String ROUTER = "envoy.extensions.filters.http.router.v3.Router";
  static final String RBAC = "envoy.extensions.filters.http.rbac.v3.RBAC";
  static final String HTTP_FAULT = "envoy.extensions.filters.http.fault.v3.HTTPFault";
  static final String UPSTREAM_TLS_CONTEXT = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
  static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  static final String DOWNSTREAM_TLS_CONTEXT = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
  static final String URI_TEMPLATE_MATCH_CONFIG = "envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig";

  private TypedConfigs() {}

  /** {@code type.googleapis.com/} and the name, as Envoy and Istio write type URLs. */
  static String url(String typeName) {
    return "type.googleapis.com/" + typeName;
  }

  /** The name after the URL's last {@code /}, which is all that identifies the type. */
  static String typeName(Any any) {
    String url = any.getTypeUrl();
    return url.substring(url.lastIndexOf('/') + 1);
  }

  /** @throws InvalidProtocolBufferException when the value is another type, or not one of these */
  static <T extends MessageLite> T unpack(Any any, String typeName, Parser<T> parser) throws InvalidProtocolBufferException {
    if (!typeName(any).equals(typeName)) {
      throw new InvalidProtocolBufferException("the type is '" + any.getTypeUrl() + "', not " + typeName);
    }
    return parser.parseFrom(any.getValue());
  }
}
