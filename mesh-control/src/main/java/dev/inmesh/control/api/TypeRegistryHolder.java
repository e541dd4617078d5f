package dev.inmesh.control.api;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/** The Any-packed types that config dumps print. */
final class TypeRegistryHolder {
  static final JsonFormat.TypeRegistry REGISTRY = JsonFormat.TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor())
      .add(HTTPFault.getDescriptor())
      .add(Router.getDescriptor())
      .build();

  private TypeRegistryHolder() {}
}
