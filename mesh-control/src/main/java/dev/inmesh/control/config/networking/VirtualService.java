package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.IstioSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Istio's VirtualService, the parts that proxyless clients honour. Fields Inmesh accepts but does
 * not enforce are reported as warnings by {@link VirtualServiceParser} and are not modelled here.
 */
public record VirtualService(List<String> hosts, List<String> gateways, List<HttpRoute> http, List<String> exportTo)
    implements IstioSpec {
  public VirtualService {
    hosts = List.copyOf(hosts);
    gateways = List.copyOf(gateways);
    http = List.copyOf(http);
    exportTo = List.copyOf(exportTo);
  }

  /** Applies to sidecars (and so to us) when no gateway is named or "mesh" is among them. */
  public boolean appliesToMesh() {
    return gateways.isEmpty() || gateways.contains("mesh");
  }

  public record HttpRoute(
      String name,
      List<Match> match,
      List<RouteDestination> route,
      Optional<Duration> timeout,
      Optional<Retry> retries,
      Optional<Fault> fault,
      Optional<Rewrite> rewrite,
      Optional<Redirect> redirect,
      Optional<DirectResponse> directResponse,
      Optional<Headers> headers,
      List<Mirror> mirrors) {
    public HttpRoute {
      match = List.copyOf(match);
      route = List.copyOf(route);
      mirrors = List.copyOf(mirrors);
    }
  }

  public record Match(
      String name,
      Optional<StringMatch> uri,
      Optional<StringMatch> method,
      Optional<StringMatch> authority,
      Optional<StringMatch> scheme,
      Map<String, StringMatch> headers,
      Map<String, StringMatch> withoutHeaders,
      Map<String, StringMatch> queryParams,
      Optional<Integer> port,
      Map<String, String> sourceLabels,
      Optional<String> sourceNamespace,
      boolean ignoreUriCase,
      List<String> gateways) {
    public Match {
      gateways = List.copyOf(gateways);
      headers = Map.copyOf(headers);
      withoutHeaders = Map.copyOf(withoutHeaders);
      queryParams = Map.copyOf(queryParams);
      sourceLabels = Map.copyOf(sourceLabels);
    }
  }

  /**
   * A match's own {@code gateways} replace the VirtualService's for that match: with any, the
   * match applies to sidecars (and so to us) only when {@code mesh} is among them.
   */
  public static boolean matchAppliesToMesh(Match match) {
    return match.gateways().isEmpty() || match.gateways().contains("mesh");
  }

  public record Destination(String host, String subset, Optional<Integer> port) {}

  /** A weighted destination. Istio's default weight is 100 when there is a single destination. */
  public record RouteDestination(Destination destination, int weight, Optional<Headers> headers) {}

  public record Retry(int attempts, Optional<Duration> perTryTimeout, List<String> retryOn, Optional<Duration> backoff) {
    public Retry {
      retryOn = List.copyOf(retryOn);
    }
  }

  public record Fault(Optional<Delay> delay, Optional<Abort> abort) {}

  /** A fixed delay for {@code percentage} percent (0-100) of requests. */
  public record Delay(Duration fixedDelay, double percentage) {}

  /** An abort with an HTTP status or a gRPC status name for {@code percentage} percent of requests. */
  public record Abort(Optional<Integer> httpStatus, Optional<String> grpcStatus, double percentage) {}

  public record Rewrite(Optional<String> uri, Optional<String> authority, Optional<RegexRewrite> uriRegexRewrite) {}

  public record RegexRewrite(String match, String rewrite) {}

  public record Redirect(Optional<String> uri, Optional<String> authority, Optional<Integer> port,
      Optional<String> scheme, int redirectCode) {}

  public record DirectResponse(int status, Optional<String> body) {}

  public record HeaderOperations(Map<String, String> set, Map<String, String> add, List<String> remove) {
    public HeaderOperations {
      set = Map.copyOf(set);
      add = Map.copyOf(add);
      remove = List.copyOf(remove);
    }
  }

  public record Headers(Optional<HeaderOperations> request, Optional<HeaderOperations> response) {}

  public record Mirror(Destination destination, double percentage) {}
}
