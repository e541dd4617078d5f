package dev.inmesh.control.translate;

import com.google.protobuf.Any;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.networking.VirtualService;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.util.List;

/**
 * What proxyless gRPC (grpc-java's xDS) does with Istio's HTTP routes, where it differs from an
 * Inmesh or Envoy client. grpc-java NACKs a whole route configuration that holds a redirect or a
 * direct response ({@code XdsRouteConfigureResource.parseRoute}), so its clients get such a route
 * as the call's failure with the same HTTP status, through the fault filter: what a gRPC call
 * behind a sidecar sees when it is answered a redirect or a canned response. What grpc-java
 * ignores (mirrors, rewrites, header changes) or skips (a route matching on query parameters) is
 * warned of at apply, naming the field and the client kind.
 */
final class GrpcRoutes {
  private static final String CLIENTS = "proxyless gRPC clients";

  private GrpcRoutes() {}

  /**
   * The routes as a proxyless gRPC client takes them: a redirect or direct response becomes an
   * abort with its status, on the service's own cluster (never called, the abort comes first).
   */
  static List<Route> adapt(List<Route> routes, String defaultCluster) {
    return routes.stream().map(route -> switch (route.getActionCase()) {
      case REDIRECT -> failing(route, redirectStatus(route.getRedirect().getResponseCode()), defaultCluster);
      case DIRECT_RESPONSE -> failing(route, route.getDirectResponse().getStatus(), defaultCluster);
      default -> route;
    }).toList();
  }

  private static Route failing(Route route, int status, String cluster) {
    HTTPFault abort = HTTPFault.newBuilder()
        .setAbort(FaultAbort.newBuilder().setHttpStatus(status).setPercentage(FractionalPercent.newBuilder()
            .setNumerator(100).setDenominator(FractionalPercent.DenominatorType.HUNDRED)))
        .build();
    Route.Builder adapted = route.toBuilder().clearAction()
        .setRoute(RouteAction.newBuilder().setCluster(cluster))
        .putTypedPerFilterConfig(XdsTranslator.FAULT_FILTER, Any.pack(abort));
    return adapted.build();
  }

  private static int redirectStatus(io.envoyproxy.envoy.config.route.v3.RedirectAction.RedirectResponseCode code) {
    return switch (code) {
      case FOUND -> 302;
      case SEE_OTHER -> 303;
      case TEMPORARY_REDIRECT -> 307;
      case PERMANENT_REDIRECT -> 308;
      default -> 301;
    };
  }

  /** Warns, per field, of what proxyless gRPC clients of this VirtualService do not do as Istio says. */
  static void warn(ConfigResource resource, XdsTranslator.Warnings warnings) {
    List<VirtualService.HttpRoute> http = resource.spec(VirtualService.class).http();
    for (int i = 0; i < http.size(); i++) {
      VirtualService.HttpRoute route = http.get(i);
      String field = "spec.http[" + i + "]";
      if (!route.mirrors().isEmpty()) {
        // mirror and mirrors are parsed into one list; name the field the resource wrote
        String mirror = resource.yaml().contains("mirrors:") ? field + ".mirrors" : field + ".mirror";
        warnings.add(resource, mirror, CLIENTS + " do not mirror: " + mirror);
      }
      if (route.redirect().isPresent()) {
        warnings.add(resource, field + ".redirect", CLIENTS + " cannot follow a redirect: " + field
            + ".redirect; their calls fail with the redirect's status instead");
      }
      if (route.directResponse().isPresent()) {
        warnings.add(resource, field + ".directResponse", CLIENTS + " take no direct response: " + field
            + ".directResponse; their calls fail with its status, without its body");
      }
      if (route.rewrite().isPresent()) {
        warnings.add(resource, field + ".rewrite", CLIENTS + " do not rewrite: " + field + ".rewrite");
      }
      if (route.headers().isPresent()) {
        warnings.add(resource, field + ".headers", CLIENTS + " do not add, set or remove headers: " + field + ".headers");
      }
      for (int d = 0; d < route.route().size(); d++) {
        if (route.route().get(d).headers().isPresent()) {
          String headers = field + ".route[" + d + "].headers";
          warnings.add(resource, headers, CLIENTS + " do not add, set or remove headers: " + headers);
        }
      }
      if (route.retries().flatMap(VirtualService.Retry::perTryTimeout).isPresent()) {
        warnings.add(resource, field + ".retries.perTryTimeout", CLIENTS + " bound only the whole call, not each try: "
            + field + ".retries.perTryTimeout");
      }
      for (int m = 0; m < route.match().size(); m++) {
        if (!route.match().get(m).queryParams().isEmpty()) {
          String match = field + ".match[" + m + "].queryParams";
          warnings.add(resource, match, CLIENTS + " skip a route that matches on query parameters: " + match);
        }
      }
    }
  }
}
