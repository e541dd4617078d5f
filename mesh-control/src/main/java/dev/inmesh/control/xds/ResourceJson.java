package dev.inmesh.control.xds;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/** Prints xDS resources for config dumps, in the proto3 JSON mapping with the Any-packed types they hold. */
public final class ResourceJson {
  private static final JsonFormat.TypeRegistry REGISTRY = JsonFormat.TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor())
      .add(HTTPFault.getDescriptor())
      .add(Router.getDescriptor())
      .build();

  private ResourceJson() {}

  /** A printer that knows the types our resources pack into {@code Any}. */
  public static JsonFormat.Printer printer() {
    return JsonFormat.printer().usingTypeRegistry(REGISTRY);
  }
}
