package dev.inmesh.control.xds;

import io.envoyproxy.controlplane.cache.Resources;
import java.util.List;

/** Short names for xDS type URLs, as operators say them. */
final class TypeNames {
  /** The types mesh-control's cache serves; a request for any other is refused. */
  static final List<String> SERVED = List.of("LDS", "RDS", "CDS", "EDS", "SDS");

  private TypeNames() {}

  static String shortName(String typeUrl) {
    return switch (typeUrl) {
      case Resources.V3.LISTENER_TYPE_URL -> "LDS";
      case Resources.V3.ROUTE_TYPE_URL -> "RDS";
      case Resources.V3.CLUSTER_TYPE_URL -> "CDS";
      case Resources.V3.ENDPOINT_TYPE_URL -> "EDS";
      case Resources.V3.SECRET_TYPE_URL -> "SDS";
      default -> typeUrl;
    };
  }

  static boolean served(String typeUrl) {
    return SERVED.contains(shortName(typeUrl));
  }
}
