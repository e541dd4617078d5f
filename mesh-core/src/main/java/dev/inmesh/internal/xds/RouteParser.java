package dev.inmesh.internal.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import dev.inmesh.internal.resilience.FaultConfig;
import dev.inmesh.internal.routing.Route;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import dev.inmesh.internal.routing.RouteMatch;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.StringMatcher;
import dev.inmesh.internal.routing.VirtualHost;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns an RDS RouteConfiguration into a {@link RouteTable}. Anything that would change how a
 * request is routed and that Inmesh cannot do is refused with the field named, never skipped.
 */
final class RouteParser {
  static final String FAULT_FILTER = "envoy.filters.http.fault";

  private RouteParser() {}

  static RouteTable parse(RouteConfiguration config) throws XdsParseException {
    String resource = "RouteConfiguration " + config.getName();
    List<VirtualHost> hosts = new ArrayList<>();
    for (int h = 0; h < config.getVirtualHostsCount(); h++) {
      var host = config.getVirtualHosts(h);
      List<Route> routes = new ArrayList<>();
      for (int r = 0; r < host.getRoutesCount(); r++) {
        String field = "virtual_hosts[" + h + "].routes[" + r + "]";
        routes.add(route(resource, field, host.getRoutes(r)));
      }
      hosts.add(new VirtualHost(host.getName(), host.getDomainsList(), routes, switch (host.getRequireTls()) {
        case NONE -> VirtualHost.TlsRequirement.NONE;
        // a client inside the mesh is never "external" to an in-process gateway, so both mean every request
        case ALL, EXTERNAL_ONLY -> VirtualHost.TlsRequirement.ALL;
        default -> throw new XdsParseException(resource, "virtual_hosts[" + h + "].require_tls",
            "require_tls " + host.getRequireTlsValue() + " is not supported");
      }));
    }
    return new RouteTable(config.getName(), hosts);
  }

  private static Route route(String resource, String field, io.envoyproxy.envoy.config.route.v3.Route route)
      throws XdsParseException {
    RouteMatch match = match(resource, field + ".match", route.getMatch());
    HeaderMutations headers = mutations(resource, field + ".request_headers_to_add", route.getRequestHeadersToAddList(),
        route.getRequestHeadersToRemoveList());
    HeaderMutations responseHeaders = mutations(resource, field + ".response_headers_to_add",
        route.getResponseHeadersToAddList(), route.getResponseHeadersToRemoveList());
    Optional<FaultConfig> fault = fault(resource, field, route.getTypedPerFilterConfigMap());
    RouteAction action = switch (route.getActionCase()) {
      case ROUTE -> forward(resource, field + ".route", route.getRoute(), fault, headers, responseHeaders);
      case REDIRECT -> redirect(resource, field + ".redirect", route.getRedirect(), headers);
      case DIRECT_RESPONSE -> new RouteAction.DirectResponse(route.getDirectResponse().getStatus(),
          route.getDirectResponse().getBody().getInlineString(), headers);
      default -> throw new XdsParseException(resource, field, "route action " + route.getActionCase() + " is not supported");
    };
    return new Route(route.getName(), match, action);
  }

  private static RouteMatch match(String resource, String field, io.envoyproxy.envoy.config.route.v3.RouteMatch match)
      throws XdsParseException {
    boolean ignoreCase = match.hasCaseSensitive() && !match.getCaseSensitive().getValue();
    StringMatcher path = switch (match.getPathSpecifierCase()) {
      case PREFIX -> new StringMatcher.Prefix(match.getPrefix(), ignoreCase);
      case PATH -> new StringMatcher.Exact(match.getPath(), ignoreCase);
      case SAFE_REGEX -> Matchers.regex(resource, field + ".safe_regex", match.getSafeRegex().getRegex());
      case PATH_SEPARATED_PREFIX -> new StringMatcher.Prefix(match.getPathSeparatedPrefix(), ignoreCase);
      default -> throw new XdsParseException(resource, field, "path specifier " + match.getPathSpecifierCase() + " is not supported");
    };
    if (match.hasRuntimeFraction() || match.hasGrpc() || match.hasTlsContext() || match.getDynamicMetadataCount() > 0) {
      throw new XdsParseException(resource, field, "only path, headers and query_parameters matches are supported");
    }
    List<RouteMatch.HeaderMatch> headers = new ArrayList<>();
    for (int i = 0; i < match.getHeadersCount(); i++) {
      headers.add(header(resource, field + ".headers[" + i + "]", match.getHeaders(i)));
    }
    List<RouteMatch.QueryMatch> query = new ArrayList<>();
    for (int i = 0; i < match.getQueryParametersCount(); i++) {
      QueryParameterMatcher q = match.getQueryParameters(i);
      Optional<StringMatcher> matcher = q.hasStringMatch()
          ? Optional.of(Matchers.stringMatcher(resource, field + ".query_parameters[" + i + "].string_match", q.getStringMatch()))
          : Optional.empty();
      query.add(new RouteMatch.QueryMatch(q.getName(), matcher));
    }
    return new RouteMatch(path, headers, query);
  }

  private static RouteMatch.HeaderMatch header(String resource, String field, HeaderMatcher header) throws XdsParseException {
    Optional<StringMatcher> matcher = switch (header.getHeaderMatchSpecifierCase()) {
      case STRING_MATCH -> Optional.of(Matchers.stringMatcher(resource, field + ".string_match", header.getStringMatch()));
      case EXACT_MATCH -> Optional.of(new StringMatcher.Exact(header.getExactMatch(), false));
      case PREFIX_MATCH -> Optional.of(new StringMatcher.Prefix(header.getPrefixMatch(), false));
      case SUFFIX_MATCH -> Optional.of(new StringMatcher.Suffix(header.getSuffixMatch(), false));
      case CONTAINS_MATCH -> Optional.of(new StringMatcher.Contains(header.getContainsMatch(), false));
      case SAFE_REGEX_MATCH -> Optional.of(Matchers.regex(resource, field + ".safe_regex_match", header.getSafeRegexMatch().getRegex()));
      case PRESENT_MATCH, HEADERMATCHSPECIFIER_NOT_SET -> Optional.empty();
      default -> throw new XdsParseException(resource, field, "header match " + header.getHeaderMatchSpecifierCase() + " is not supported");
    };
    boolean invert = header.getInvertMatch()
        || (header.getHeaderMatchSpecifierCase() == HeaderMatcher.HeaderMatchSpecifierCase.PRESENT_MATCH && !header.getPresentMatch());
    return new RouteMatch.HeaderMatch(header.getName().toLowerCase(java.util.Locale.ROOT), matcher, invert);
  }

  private static RouteAction.Forward forward(String resource, String field, io.envoyproxy.envoy.config.route.v3.RouteAction action,
      Optional<FaultConfig> fault, HeaderMutations headers, HeaderMutations responseHeaders) throws XdsParseException {
    List<RouteAction.WeightedCluster> clusters = new ArrayList<>();
    switch (action.getClusterSpecifierCase()) {
      case CLUSTER -> clusters.add(new RouteAction.WeightedCluster(action.getCluster(), 1, HeaderMutations.NONE));
      case WEIGHTED_CLUSTERS -> {
        WeightedCluster weighted = action.getWeightedClusters();
        for (int i = 0; i < weighted.getClustersCount(); i++) {
          WeightedCluster.ClusterWeight cluster = weighted.getClusters(i);
          clusters.add(new RouteAction.WeightedCluster(cluster.getName(), cluster.getWeight().getValue(),
              mutations(resource, field + ".weighted_clusters.clusters[" + i + "].request_headers_to_add",
                  cluster.getRequestHeadersToAddList(), cluster.getRequestHeadersToRemoveList()),
              mutations(resource, field + ".weighted_clusters.clusters[" + i + "].response_headers_to_add",
                  cluster.getResponseHeadersToAddList(), cluster.getResponseHeadersToRemoveList())));
        }
        if (clusters.stream().mapToInt(RouteAction.WeightedCluster::weight).sum() == 0) {
          throw new XdsParseException(resource, field + ".weighted_clusters", "the weights add up to 0");
        }
      }
      default -> throw new XdsParseException(resource, field, "cluster specifier " + action.getClusterSpecifierCase() + " is not supported");
    }
    Duration timeout = action.hasTimeout() ? duration(action.getTimeout()) : Duration.ofSeconds(15);
    if (action.hasMaxStreamDuration() && action.getMaxStreamDuration().hasMaxStreamDuration()) {
      Duration max = duration(action.getMaxStreamDuration().getMaxStreamDuration());
      if (!max.isZero() && (timeout.isZero() || max.compareTo(timeout) < 0)) {
        timeout = max;
      }
    }
    Optional<RouteAction.RetryPolicy> retry = action.hasRetryPolicy()
        ? Optional.of(retry(resource, field + ".retry_policy", action.getRetryPolicy())) : Optional.empty();
    Optional<RouteAction.Rewrite> rewrite = Optional.empty();
    if (!action.getPrefixRewrite().isEmpty() || action.hasRegexRewrite() || !action.getHostRewriteLiteral().isEmpty()) {
      Optional<StringMatcher.Regex> regex = action.hasRegexRewrite()
          ? Optional.of(Matchers.regex(resource, field + ".regex_rewrite.pattern", action.getRegexRewrite().getPattern().getRegex()))
          : Optional.empty();
      rewrite = Optional.of(new RouteAction.Rewrite(
          action.getPrefixRewrite().isEmpty() ? Optional.empty() : Optional.of(action.getPrefixRewrite()),
          regex, action.getRegexRewrite().getSubstitution(),
          action.getHostRewriteLiteral().isEmpty() ? Optional.empty() : Optional.of(action.getHostRewriteLiteral())));
    }
    List<RouteAction.Mirror> mirrors = new ArrayList<>();
    for (var mirror : action.getRequestMirrorPoliciesList()) {
      if (mirror.getCluster().isEmpty()) {
        throw new XdsParseException(resource, field + ".request_mirror_policies", "only a named cluster can be mirrored to");
      }
      int perMillion = mirror.hasRuntimeFraction() ? perMillion(mirror.getRuntimeFraction().getDefaultValue()) : 1_000_000;
      mirrors.add(new RouteAction.Mirror(mirror.getCluster(), perMillion));
    }
    List<RouteAction.HashPolicy> hashPolicies = new ArrayList<>();
    for (int i = 0; i < action.getHashPolicyCount(); i++) {
      var policy = action.getHashPolicy(i);
      hashPolicies.add(switch (policy.getPolicySpecifierCase()) {
        case HEADER -> new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.HEADER,
            policy.getHeader().getHeaderName().toLowerCase(java.util.Locale.ROOT));
        case COOKIE -> new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.COOKIE, policy.getCookie().getName());
        case CONNECTION_PROPERTIES -> new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.SOURCE_IP, "");
        case QUERY_PARAMETER -> new RouteAction.HashPolicy(RouteAction.HashPolicy.Kind.QUERY_PARAMETER,
            policy.getQueryParameter().getName());
        default -> throw new XdsParseException(resource, field + ".hash_policy[" + i + "]",
            "hash policy " + policy.getPolicySpecifierCase() + " is not supported");
      });
    }
    return new RouteAction.Forward(clusters, timeout, retry, fault, rewrite, headers, responseHeaders, mirrors, hashPolicies);
  }

  private static RouteAction.RetryPolicy retry(String resource, String field, RetryPolicy policy) throws XdsParseException {
    List<String> on = new ArrayList<>();
    for (String condition : policy.getRetryOn().split(",")) {
      String trimmed = condition.trim();
      if (!trimmed.isEmpty()) {
        on.add(trimmed);
      }
    }
    Duration base = policy.hasRetryBackOff() && policy.getRetryBackOff().hasBaseInterval()
        ? duration(policy.getRetryBackOff().getBaseInterval()) : Duration.ofMillis(25);
    Duration max = policy.hasRetryBackOff() && policy.getRetryBackOff().hasMaxInterval()
        ? duration(policy.getRetryBackOff().getMaxInterval()) : base.multipliedBy(10);
    if (base.isZero() || max.compareTo(base) < 0) {
      throw new XdsParseException(resource, field + ".retry_back_off", "base_interval must be positive and at most max_interval");
    }
    int retries = policy.hasNumRetries() ? policy.getNumRetries().getValue() : 1;
    Optional<Duration> perTry = policy.hasPerTryTimeout() && !duration(policy.getPerTryTimeout()).isZero()
        ? Optional.of(duration(policy.getPerTryTimeout())) : Optional.empty();
    return new RouteAction.RetryPolicy(retries, on, policy.getRetriableStatusCodesList(), perTry, base, max);
  }

  private static Optional<FaultConfig> fault(String resource, String field, Map<String, Any> perFilter) throws XdsParseException {
    Any config = perFilter.get(FAULT_FILTER);
    for (String name : perFilter.keySet()) {
      if (!name.equals(FAULT_FILTER)) {
        throw new XdsParseException(resource, field + ".typed_per_filter_config." + name, "filter " + name + " is not supported");
      }
    }
    if (config == null) {
      return Optional.empty();
    }
    HTTPFault fault;
    try {
      fault = TypedConfigs.unpack(config, TypedConfigs.HTTP_FAULT, HTTPFault.parser());
    } catch (InvalidProtocolBufferException e) {
      throw new XdsParseException(resource, field + ".typed_per_filter_config." + FAULT_FILTER, "not an HTTPFault: " + e.getMessage());
    }
    return Optional.of(FaultParser.parse(resource, field + ".typed_per_filter_config." + FAULT_FILTER, fault));
  }

  private static RouteAction.Redirect redirect(String resource, String field, RedirectAction redirect,
      HeaderMutations headers) throws XdsParseException {
    if (redirect.getPathRewriteSpecifierCase() != RedirectAction.PathRewriteSpecifierCase.PATH_REDIRECT
        && redirect.getPathRewriteSpecifierCase() != RedirectAction.PathRewriteSpecifierCase.PATHREWRITESPECIFIER_NOT_SET) {
      throw new XdsParseException(resource, field + "." + redirect.getPathRewriteSpecifierCase().name().toLowerCase(java.util.Locale.ROOT),
          "only path_redirect is supported in a redirect");
    }
    if (redirect.getStripQuery()) {
      throw new XdsParseException(resource, field + ".strip_query", "is not supported in a redirect");
    }
    Optional<String> scheme = redirect.getHttpsRedirect() ? Optional.of("https")
        : redirect.getSchemeRedirect().isEmpty() ? Optional.empty() : Optional.of(redirect.getSchemeRedirect());
    int status = switch (redirect.getResponseCode()) {
      case FOUND -> 302;
      case SEE_OTHER -> 303;
      case TEMPORARY_REDIRECT -> 307;
      case PERMANENT_REDIRECT -> 308;
      default -> 301;
    };
    return new RouteAction.Redirect(scheme,
        redirect.getHostRedirect().isEmpty() ? Optional.empty() : Optional.of(redirect.getHostRedirect()),
        redirect.getPortRedirect() == 0 ? Optional.empty() : Optional.of(redirect.getPortRedirect()),
        redirect.getPathRedirect().isEmpty() ? Optional.empty() : Optional.of(redirect.getPathRedirect()),
        status, headers);
  }

  static HeaderMutations mutations(String resource, String field, List<HeaderValueOption> add, List<String> remove)
      throws XdsParseException {
    if (add.isEmpty() && remove.isEmpty()) {
      return HeaderMutations.NONE;
    }
    List<Map.Entry<String, String>> set = new ArrayList<>();
    List<Map.Entry<String, String>> append = new ArrayList<>();
    for (HeaderValueOption option : add) {
      if (option.getAppendAction() == HeaderValueOption.HeaderAppendAction.ADD_IF_ABSENT
          || option.getAppendAction() == HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS) {
        throw new XdsParseException(resource, field, "header " + option.getHeader().getKey() + ": append_action "
            + option.getAppendAction() + " is not supported");
      }
      var entry = new AbstractMap.SimpleImmutableEntry<>(option.getHeader().getKey().toLowerCase(java.util.Locale.ROOT),
          option.getHeader().getValue());
      boolean appends = option.getAppendAction() == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
          && !(option.hasAppend() && !option.getAppend().getValue());
      (appends ? append : set).add(entry);
    }
    return new HeaderMutations(set, append, remove);
  }

  static int perMillion(FractionalPercent percent) {
    long numerator = percent.getNumerator();
    long scaled = switch (percent.getDenominator()) {
      case HUNDRED -> numerator * 10_000;
      case TEN_THOUSAND -> numerator * 100;
      default -> numerator;
    };
    return (int) Math.min(1_000_000, scaled);
  }

  static Duration duration(com.google.protobuf.Duration duration) {
    return Duration.ofNanos(Durations.toNanos(duration));
  }
}
