package dev.inmesh.internal.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.inmesh.internal.model.ListenerConfig;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.Optional;
import java.util.Set;

/** Turns an LDS api_listener into a {@link ListenerConfig}; any filter it cannot run is refused. */
final class ListenerParser {
  private static final String ROUTER = "envoy.filters.http.router";
  private static final Set<String> SUPPORTED_FILTERS = Set.of(RouteParser.FAULT_FILTER, ROUTER);

  private ListenerParser() {}

  static ListenerConfig parse(Listener listener) throws XdsParseException {
    String resource = "Listener " + listener.getName();
    if (!listener.hasApiListener()) {
      throw new XdsParseException(resource, "api_listener", "only API listeners are supported by in-process clients");
    }
    HttpConnectionManager manager;
    try {
      manager = TypedConfigs.unpack(listener.getApiListener().getApiListener(), TypedConfigs.HTTP_CONNECTION_MANAGER, HttpConnectionManager.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, "api_listener.api_listener", "not an HttpConnectionManager: " + e.getMessage());
    }
    for (int i = 0; i < manager.getHttpFiltersCount(); i++) {
      HttpFilter filter = manager.getHttpFilters(i);
      if (!SUPPORTED_FILTERS.contains(filter.getName()) && !filter.getIsOptional()) {
        throw new XdsParseException(resource, "api_listener.http_filters[" + i + "]",
            "HTTP filter '" + filter.getName() + "' is not supported (supported: " + SUPPORTED_FILTERS + ")");
      }
    }
    if (manager.getHttpFiltersCount() > 0
        && !manager.getHttpFilters(manager.getHttpFiltersCount() - 1).getName().equals(ROUTER)) {
      throw new XdsParseException(resource, "api_listener.http_filters", "the last filter must be the router");
    }
    return switch (manager.getRouteSpecifierCase()) {
      case RDS -> {
        if (!manager.getRds().getConfigSource().hasAds()) {
          throw new XdsParseException(resource, "api_listener.rds.config_source", "routes must come over ADS");
        }
        yield new ListenerConfig(listener.getName(), manager.getRds().getRouteConfigName(), Optional.empty());
      }
      case ROUTE_CONFIG -> new ListenerConfig(listener.getName(), manager.getRouteConfig().getName(),
          Optional.of(RouteParser.parse(manager.getRouteConfig())));
      default -> throw new XdsParseException(resource, "api_listener.route_specifier",
          manager.getRouteSpecifierCase() + " is not supported; use RDS or an inline route_config");
    };
  }
}
