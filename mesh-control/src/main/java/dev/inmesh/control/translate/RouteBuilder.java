package dev.inmesh.control.translate;

import static dev.inmesh.control.translate.XdsTranslator.u32;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.networking.DestinationRule;
import dev.inmesh.control.config.networking.GrpcStatusNames;
import dev.inmesh.control.config.networking.StringMatch;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.control.config.networking.VirtualService.HttpRoute;
import dev.inmesh.control.config.networking.VirtualService.Match;
import dev.inmesh.control.config.networking.VirtualService.RouteDestination;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Turns a VirtualService's HTTP routes into Envoy routes for one service port. */
final class RouteBuilder {
  /** Istio's retry policy for routes whose VirtualService sets none. */
  private static final VirtualService.Retry ISTIO_DEFAULT_RETRY = new VirtualService.Retry(2, Optional.empty(),
      List.of("connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"), Optional.empty());
  private static final com.google.protobuf.Duration DEFAULT_BACKOFF = Durations.fromMillis(25);

  private final ServiceIndex services;
  private final XdsTranslator.Policies policies;
  private final XdsTranslator.Warnings warnings;
  private final String clientNamespace;
  private final boolean proxylessGrpc;

  RouteBuilder(ServiceIndex services, XdsTranslator.Policies policies, XdsTranslator.Warnings warnings,
      ClientProfile profile) {
    this.services = services;
    this.policies = policies;
    this.warnings = warnings;
    this.clientNamespace = profile.namespace();
    this.proxylessGrpc = profile.proxylessGrpc();
  }

  /** With no VirtualService, everything goes to the whole service with Istio's default retries. */
  Route defaultRoute(MeshService service, int port) {
    RouteAction.Builder action = RouteAction.newBuilder()
        .setCluster(ClusterNames.outbound(port, "", service.hostname()))
        .setTimeout(Durations.fromSeconds(0))
        .setRetryPolicy(retryPolicy(ISTIO_DEFAULT_RETRY));
    hashPolicy(service.hostname(), port, "").ifPresent(action::addHashPolicy);
    return Route.newBuilder()
        .setName("default")
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(action)
        .build();
  }

  List<Route> fromVirtualService(ConfigResource resource, MeshService service, int port) {
    return fromVirtualService(resource, port, VirtualService::matchAppliesToMesh);
  }

  /**
   * The routes of a VirtualService bound to a gateway, for that gateway's server on {@code port}:
   * a match whose own {@code gateways} leave this gateway out is not taken, as on Istio's gateways.
   *
   * @param gateway the Gateway's {@code namespace/name}
   */
  List<Route> fromGatewayVirtualService(ConfigResource resource, String gateway, int port) {
    return fromVirtualService(resource, port, match -> match.gateways().isEmpty()
        || match.gateways().stream().anyMatch(name -> GatewayTranslator.bindingName(name, resource.namespace()).equals(gateway)));
  }

  private List<Route> fromVirtualService(ConfigResource resource, int port,
      java.util.function.Predicate<Match> applies) {
    VirtualService vs = resource.spec(VirtualService.class);
    List<Route> routes = new ArrayList<>();
    for (int i = 0; i < vs.http().size(); i++) {
      HttpRoute http = vs.http().get(i);
      String field = "spec.http[" + i + "]";
      String name = http.name().isEmpty() ? resource.name() + "." + i : http.name();
      if (http.match().isEmpty()) {
        routes.add(route(resource, field, name, http, RouteMatch.newBuilder().setPrefix("/").build(), port));
        continue;
      }
      for (int m = 0; m < http.match().size(); m++) {
        Match match = http.match().get(m);
        if (match.port().isPresent() && match.port().get() != port) {
          continue;
        }
        if (match.sourceNamespace().isPresent() && !match.sourceNamespace().get().equals(clientNamespace)) {
          continue;
        }
        if (!applies.test(match)) {
          continue; // its own gateways leave this client out, as on an Istio sidecar or gateway
        }
        if (!match.sourceLabels().isEmpty()) {
          warnings.add(resource, field + ".match[" + m + "].sourceLabels",
              "matches on the caller's labels are not enforced yet; this match is never taken");
          continue;
        }
        Optional<Match> taken = proxylessGrpc ? forGrpc(resource, field + ".match[" + m + "]", match) : Optional.of(match);
        if (taken.isEmpty()) {
          continue;
        }
        String matchName = match.name().isEmpty() ? name : name + "." + match.name();
        routes.add(route(resource, field, matchName, http, routeMatch(taken.get()), port));
      }
    }
    return routes;
  }

  /**
   * A match as proxyless gRPC clients can take it. grpc-java looks a header matcher's name up in
   * the call's metadata, where pseudo-headers are not, and a {@code :method} or {@code :scheme}
   * matcher fails the call. Every gRPC call is a POST, so a method match is decided here: it
   * drops out when it matches POST, and the match is never taken when it does not. The authority
   * and scheme a grpc-java call carries are not known here, so a match on them is never taken by
   * gRPC clients, with a warning.
   */
  private Optional<Match> forGrpc(ConfigResource resource, String field, Match match) {
    for (var pseudo : List.of(Map.entry("authority", match.authority()), Map.entry("scheme", match.scheme()))) {
      if (pseudo.getValue().isPresent()) {
        warnings.add(resource, field + "." + pseudo.getKey(), "proxyless gRPC clients cannot match on :"
            + pseudo.getKey() + " (grpc-java does not expose it to route matching); this match is never taken by them");
        return Optional.empty();
      }
    }
    if (match.method().isEmpty()) {
      return Optional.of(match);
    }
    if (!match.method().get().matches("POST")) {
      return Optional.empty(); // a gRPC call is always a POST
    }
    return Optional.of(new Match(match.name(), match.uri(), Optional.empty(), match.authority(), match.scheme(),
        match.headers(), match.withoutHeaders(), match.queryParams(), match.port(), match.sourceLabels(),
        match.sourceNamespace(), match.ignoreUriCase(), match.gateways()));
  }

  private Route route(ConfigResource resource, String field, String name, HttpRoute http, RouteMatch match, int port) {
    Route.Builder route = Route.newBuilder().setName(name).setMatch(match);
    http.headers().ifPresent(headers -> {
      headers.request().ifPresent(ops -> {
        route.addAllRequestHeadersToAdd(headerOptions(ops));
        route.addAllRequestHeadersToRemove(ops.remove());
      });
      headers.response().ifPresent(ops -> {
        route.addAllResponseHeadersToAdd(headerOptions(ops));
        route.addAllResponseHeadersToRemove(ops.remove());
      });
    });
    http.fault().ifPresent(fault -> route.putTypedPerFilterConfig(XdsTranslator.FAULT_FILTER, Any.pack(fault(fault))));
    if (http.redirect().isPresent()) {
      return route.setRedirect(redirect(http.redirect().get())).build();
    }
    if (http.directResponse().isPresent()) {
      VirtualService.DirectResponse direct = http.directResponse().get();
      DirectResponseAction.Builder action = DirectResponseAction.newBuilder().setStatus(direct.status());
      direct.body().ifPresent(body -> action.setBody(DataSource.newBuilder().setInlineString(body)));
      return route.setDirectResponse(action).build();
    }
    RouteAction.Builder action = RouteAction.newBuilder();
    List<RouteDestination> destinations = http.route();
    if (destinations.size() == 1) {
      action.setCluster(clusterFor(resource, field + ".route[0]", destinations.get(0).destination(), port));
      destinations.get(0).headers().ifPresent(h -> {
        h.request().ifPresent(ops -> {
          route.addAllRequestHeadersToAdd(headerOptions(ops));
          route.addAllRequestHeadersToRemove(ops.remove());
        });
        h.response().ifPresent(ops -> {
          route.addAllResponseHeadersToAdd(headerOptions(ops));
          route.addAllResponseHeadersToRemove(ops.remove());
        });
      });
    } else {
      WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
      for (int d = 0; d < destinations.size(); d++) {
        RouteDestination destination = destinations.get(d);
        if (destination.weight() == 0) {
          continue;
        }
        WeightedCluster.ClusterWeight.Builder weight = WeightedCluster.ClusterWeight.newBuilder()
            .setName(clusterFor(resource, field + ".route[" + d + "]", destination.destination(), port))
            .setWeight(u32(destination.weight()));
        destination.headers().ifPresent(h -> {
          h.request().ifPresent(ops -> {
            weight.addAllRequestHeadersToAdd(headerOptions(ops));
            weight.addAllRequestHeadersToRemove(ops.remove());
          });
          h.response().ifPresent(ops -> {
            weight.addAllResponseHeadersToAdd(headerOptions(ops));
            weight.addAllResponseHeadersToRemove(ops.remove());
          });
        });
        weighted.addClusters(weight);
      }
      action.setWeightedClusters(weighted);
    }
    action.setTimeout(Durations.fromNanos(http.timeout().orElse(Duration.ZERO).toNanos()));
    http.timeout().ifPresent(timeout -> action.setMaxStreamDuration(RouteAction.MaxStreamDuration.newBuilder()
        .setMaxStreamDuration(Durations.fromNanos(timeout.toNanos()))
        .setGrpcTimeoutHeaderMax(Durations.fromNanos(timeout.toNanos()))));
    VirtualService.Retry retry = http.retries().orElse(ISTIO_DEFAULT_RETRY);
    if (retry.attempts() > 0) {
      action.setRetryPolicy(retryPolicy(retry));
    }
    http.rewrite().ifPresent(rewrite -> {
      rewrite.uri().ifPresent(action::setPrefixRewrite);
      rewrite.authority().ifPresent(action::setHostRewriteLiteral);
      rewrite.uriRegexRewrite().ifPresent(regex -> action.setRegexRewrite(RegexMatchAndSubstitute.newBuilder()
          .setPattern(RegexMatcher.newBuilder().setRegex(regex.match()))
          .setSubstitution(regex.rewrite())));
    });
    for (int m = 0; m < http.mirrors().size(); m++) {
      VirtualService.Mirror mirror = http.mirrors().get(m);
      String mirrorField = field + (http.mirrors().size() == 1 ? ".mirror" : ".mirrors[" + m + "]");
      action.addRequestMirrorPolicies(RouteAction.RequestMirrorPolicy.newBuilder()
          .setCluster(clusterFor(resource, mirrorField, mirror.destination(), port))
          .setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setDefaultValue(percent(mirror.percentage()))));
    }
    hashPolicy(destinations, resource.namespace(), port).ifPresent(action::addHashPolicy);
    return route.setRoute(action).build();
  }

  /** Resolves a destination to its cluster name, warning when the cluster cannot exist yet. */
  private String clusterFor(ConfigResource resource, String field, VirtualService.Destination destination, int port) {
    String hostname = Hosts.resolve(destination.host(), resource.namespace());
    Optional<MeshService> target = services.find(hostname);
    int targetPort = destination.port().orElseGet(() -> target
        .filter(s -> s.ports().size() == 1)
        .map(s -> s.ports().get(0).number())
        .orElse(port));
    if (target.isEmpty()) {
      warnings.add(resource, field + ".destination.host", "host " + hostname + " has no service yet (no registered workload or ServiceEntry); calls to it fail until one appears");
    } else if (target.get().port(targetPort).isEmpty()) {
      warnings.add(resource, field + ".destination.port", "service " + hostname + " has no port " + targetPort);
    }
    if (!destination.subset().isEmpty()) {
      boolean defined = policies.ruleFor(hostname)
          .map(r -> r.spec(DestinationRule.class).subset(destination.subset()).isPresent())
          .orElse(false);
      if (!defined) {
        warnings.add(resource, field + ".destination.subset", "subset " + destination.subset() + " of host " + hostname
            + " is not defined by any DestinationRule yet; calls routed to it fail until one defines it");
      }
    }
    return ClusterNames.outbound(targetPort, destination.subset(), hostname);
  }

  private Optional<RouteAction.HashPolicy> hashPolicy(List<RouteDestination> destinations, String namespace, int port) {
    for (RouteDestination destination : destinations) {
      String hostname = Hosts.resolve(destination.destination().host(), namespace);
      Optional<RouteAction.HashPolicy> policy = hashPolicy(hostname, port, destination.destination().subset());
      if (policy.isPresent()) {
        return policy;
      }
    }
    return Optional.empty();
  }

  /** The DestinationRule's consistent hash for one destination as the route's hash policy. */
  private Optional<RouteAction.HashPolicy> hashPolicy(String hostname, int port, String subset) {
    Optional<DestinationRule.ConsistentHash> hash = policies.policy(hostname, port, subset)
        .loadBalancer().flatMap(DestinationRule.LoadBalancer::consistentHash);
    if (hash.isEmpty()) {
      return Optional.empty();
    }
    DestinationRule.ConsistentHash h = hash.get();
    RouteAction.HashPolicy.Builder policy = RouteAction.HashPolicy.newBuilder();
    switch (h.on()) {
      case HEADER -> policy.setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(h.name()));
      case COOKIE -> {
        RouteAction.HashPolicy.Cookie.Builder cookie = RouteAction.HashPolicy.Cookie.newBuilder().setName(h.name());
        h.cookieTtl().ifPresent(ttl -> cookie.setTtl(Durations.fromNanos(ttl.toNanos())));
        policy.setCookie(cookie);
      }
      case SOURCE_IP -> policy.setConnectionProperties(
          RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
      case QUERY_PARAMETER -> policy.setQueryParameter(
          RouteAction.HashPolicy.QueryParameter.newBuilder().setName(h.name()));
    }
    return Optional.of(policy.build());
  }

  private static RouteMatch routeMatch(Match match) {
    RouteMatch.Builder result = RouteMatch.newBuilder();
    Optional<StringMatch> uri = match.uri();
    if (uri.isEmpty()) {
      result.setPrefix("/");
    } else {
      switch (uri.get().type()) {
        case EXACT -> result.setPath(uri.get().value());
        case PREFIX -> result.setPrefix(uri.get().value());
        case REGEX -> result.setSafeRegex(RegexMatcher.newBuilder().setRegex(uri.get().value()));
      }
    }
    if (match.ignoreUriCase()) {
      result.setCaseSensitive(com.google.protobuf.BoolValue.of(false));
    }
    match.method().ifPresent(m -> result.addHeaders(header(":method", m, false)));
    match.authority().ifPresent(m -> result.addHeaders(header(":authority", m, false)));
    match.scheme().ifPresent(m -> result.addHeaders(header(":scheme", m, false)));
    match.headers().forEach((name, m) -> result.addHeaders(header(name, m, false)));
    match.withoutHeaders().forEach((name, m) -> result.addHeaders(header(name, m, true)));
    match.queryParams().forEach((name, m) -> result.addQueryParameters(QueryParameterMatcher.newBuilder()
        .setName(name)
        .setStringMatch(stringMatcher(m))));
    return result.build();
  }

  private static HeaderMatcher header(String name, StringMatch match, boolean invert) {
    HeaderMatcher.Builder header = HeaderMatcher.newBuilder().setName(name).setInvertMatch(invert);
    if (match.type() == StringMatch.Type.PREFIX && match.value().isEmpty()) {
      return header.setPresentMatch(true).build();
    }
    return header.setStringMatch(stringMatcher(match)).build();
  }

  private static StringMatcher stringMatcher(StringMatch match) {
    return switch (match.type()) {
      case EXACT -> StringMatcher.newBuilder().setExact(match.value()).build();
      case PREFIX -> StringMatcher.newBuilder().setPrefix(match.value()).build();
      case REGEX -> StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(match.value())).build();
    };
  }

  private static RetryPolicy retryPolicy(VirtualService.Retry retry) {
    List<String> on = retry.retryOn().isEmpty() ? ISTIO_DEFAULT_RETRY.retryOn() : retry.retryOn();
    RetryPolicy.Builder policy = RetryPolicy.newBuilder()
        .setRetryOn(String.join(",", on))
        .setNumRetries(u32(retry.attempts()));
    List<Integer> codes = on.stream().filter(p -> p.matches("\\d{3}")).map(Integer::parseInt).toList();
    policy.addAllRetriableStatusCodes(codes);
    retry.perTryTimeout().ifPresent(t -> policy.setPerTryTimeout(Durations.fromNanos(t.toNanos())));
    com.google.protobuf.Duration base = retry.backoff().map(b -> Durations.fromNanos(b.toNanos())).orElse(DEFAULT_BACKOFF);
    policy.setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder()
        .setBaseInterval(base)
        .setMaxInterval(Durations.fromNanos(Durations.toNanos(base) * 10)));
    return policy.build();
  }

  private static HTTPFault fault(VirtualService.Fault fault) {
    HTTPFault.Builder result = HTTPFault.newBuilder();
    fault.delay().ifPresent(delay -> result.setDelay(FaultDelay.newBuilder()
        .setFixedDelay(Durations.fromNanos(delay.fixedDelay().toNanos()))
        .setPercentage(percent(delay.percentage()))));
    fault.abort().ifPresent(abort -> {
      FaultAbort.Builder builder = FaultAbort.newBuilder().setPercentage(percent(abort.percentage()));
      abort.httpStatus().ifPresent(builder::setHttpStatus);
      abort.grpcStatus().ifPresent(status -> builder.setGrpcStatus(GrpcStatusNames.code(status)));
      result.setAbort(builder);
    });
    return result.build();
  }

  /** Istio's percentages are doubles; a millionth keeps three decimals exactly. */
  static FractionalPercent percent(double percentage) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(percentage * 10_000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  private static RedirectAction redirect(VirtualService.Redirect redirect) {
    RedirectAction.Builder action = RedirectAction.newBuilder();
    redirect.uri().ifPresent(action::setPathRedirect);
    redirect.authority().ifPresent(action::setHostRedirect);
    redirect.port().ifPresent(action::setPortRedirect);
    redirect.scheme().ifPresent(action::setSchemeRedirect);
    action.setResponseCode(switch (redirect.redirectCode()) {
      case 302 -> RedirectAction.RedirectResponseCode.FOUND;
      case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
      case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
      case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
      default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
    });
    return action.build();
  }

  private static List<HeaderValueOption> headerOptions(VirtualService.HeaderOperations ops) {
    List<HeaderValueOption> options = new ArrayList<>();
    for (Map.Entry<String, String> set : ops.set().entrySet()) {
      options.add(HeaderValueOption.newBuilder()
          .setHeader(HeaderValue.newBuilder().setKey(set.getKey()).setValue(set.getValue()))
          .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
          .build());
    }
    for (Map.Entry<String, String> add : ops.add().entrySet()) {
      options.add(HeaderValueOption.newBuilder()
          .setHeader(HeaderValue.newBuilder().setKey(add.getKey()).setValue(add.getValue()))
          .setAppendAction(HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)
          .build());
    }
    return options;
  }
}
