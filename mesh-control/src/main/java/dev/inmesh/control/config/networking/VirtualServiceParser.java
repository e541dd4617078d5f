package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.networking.VirtualService.Abort;
import dev.inmesh.control.config.networking.VirtualService.Delay;
import dev.inmesh.control.config.networking.VirtualService.Destination;
import dev.inmesh.control.config.networking.VirtualService.DirectResponse;
import dev.inmesh.control.config.networking.VirtualService.Fault;
import dev.inmesh.control.config.networking.VirtualService.HeaderOperations;
import dev.inmesh.control.config.networking.VirtualService.Headers;
import dev.inmesh.control.config.networking.VirtualService.HttpRoute;
import dev.inmesh.control.config.networking.VirtualService.Match;
import dev.inmesh.control.config.networking.VirtualService.Mirror;
import dev.inmesh.control.config.networking.VirtualService.Redirect;
import dev.inmesh.control.config.networking.VirtualService.RegexRewrite;
import dev.inmesh.control.config.networking.VirtualService.Retry;
import dev.inmesh.control.config.networking.VirtualService.Rewrite;
import dev.inmesh.control.config.networking.VirtualService.RouteDestination;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Reads and validates a VirtualService spec with Istio's rules. */
public final class VirtualServiceParser implements SpecParser<VirtualService> {
  private static final Duration MIN_DURATION = Duration.ofMillis(1);
  /** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies, which Istio accepts in retryOn. */
  static final Set<String> RETRY_ON = Set.of(
      "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
      "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers",
      "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
      "unavailable");

  @Override
  public VirtualService parse(SpecReader spec, String namespace) {
    List<String> hosts = spec.stringList("hosts");
    List<String> gateways = spec.stringList("gateways");
    boolean delegate = hosts.isEmpty() && gateways.isEmpty() && spec.has("http");
    if (hosts.isEmpty() && !spec.has("hosts")) {
      spec.error("hosts", "Required value: a VirtualService needs at least one host");
    }
    NetworkingFields.checkHosts(spec, "hosts", hosts);
    boolean mesh = gateways.isEmpty() || gateways.contains("mesh");
    if (mesh && hosts.contains("*")) {
      spec.error("hosts", "wildcard host * is not allowed for virtual services bound to the mesh gateway");
    }
    for (int i = 0; i < gateways.size(); i++) {
      String gateway = gateways.get(i);
      if (!gateway.equals("mesh") && !gateway.matches("([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
        spec.error("gateways[" + i + "]", "must be 'mesh' or [namespace/]name, got '" + gateway + "'");
      }
    }
    if (!mesh) {
      spec.warn("gateways", "bound only to gateways " + gateways + ": served by the mesh-gateways those Gateways"
          + " select; mesh clients do not take these routes, as Istio sidecars do not");
    }
    List<HttpRoute> http = new ArrayList<>();
    for (SpecReader route : spec.list("http")) {
      http.add(readHttpRoute(route));
    }
    spec.notHonoured("tcp", "TCP routes need a proxy; proxyless clients route HTTP and gRPC only");
    spec.notHonoured("tls", "TLS (SNI) routes need a proxy; proxyless clients route HTTP and gRPC only");
    List<String> exportTo = spec.stringList("exportTo");
    NetworkingFields.checkExportTo(spec, exportTo);
    if (delegate) {
      spec.warn("hosts", "a VirtualService without hosts is a delegate; Inmesh does not follow delegation yet");
    }
    return new VirtualService(hosts, gateways, http, exportTo);
  }

  private static HttpRoute readHttpRoute(SpecReader route) {
    String name = route.string("name").orElse("");
    List<Match> matches = new ArrayList<>();
    for (SpecReader match : route.list("match")) {
      matches.add(readMatch(match));
    }
    List<RouteDestination> destinations = new ArrayList<>();
    List<SpecReader> routeReaders = route.list("route");
    for (SpecReader destination : routeReaders) {
      destinations.add(readRouteDestination(destination, routeReaders.size()));
    }
    checkWeights(route, destinations);
    Optional<Duration> timeout = route.duration("timeout", Duration.ZERO);
    Optional<Retry> retries = route.object("retries").map(VirtualServiceParser::readRetry);
    Optional<Fault> fault = route.object("fault").map(VirtualServiceParser::readFault);
    Optional<Rewrite> rewrite = route.object("rewrite").map(VirtualServiceParser::readRewrite);
    Optional<Redirect> redirect = route.object("redirect").map(VirtualServiceParser::readRedirect);
    Optional<DirectResponse> directResponse = route.object("directResponse").map(VirtualServiceParser::readDirectResponse);
    Optional<Headers> headers = route.object("headers").map(VirtualServiceParser::readHeaders);
    List<Mirror> mirrors = readMirrors(route);
    route.notHonoured("corsPolicy", "CORS is a browser concern that proxyless clients do not enforce");
    route.notHonoured("delegate", "delegation is not followed yet");
    route.notHonoured("retryPolicy", "not an Istio field");

    int actions = (destinations.isEmpty() ? 0 : 1) + (redirect.isPresent() ? 1 : 0)
        + (directResponse.isPresent() ? 1 : 0) + (route.has("delegate") ? 1 : 0);
    if (actions == 0) {
      route.error(null, "an HTTP route needs one of route, redirect, directResponse or delegate");
    } else if (actions > 1) {
      route.error(null, "only one of route, redirect, directResponse or delegate may be set");
    }
    if (redirect.isPresent() && (rewrite.isPresent() || fault.isPresent() || retries.isPresent())) {
      route.error("redirect", "a redirect route cannot also rewrite, inject faults or retry");
    }
    route.finish();
    return new HttpRoute(name, matches, destinations, timeout, retries, fault, rewrite, redirect, directResponse,
        headers, mirrors);
  }

  /**
   * {@code mirror} with {@code mirrorPercentage} (or the deprecated {@code mirror_percent} when
   * that is absent; 100 % when both are), and every entry of {@code mirrors}, each with its own
   * {@code percentage}. Istio refuses a route that sets both {@code mirror} and {@code mirrors}.
   */
  private static List<Mirror> readMirrors(SpecReader route) {
    List<Mirror> mirrors = new java.util.ArrayList<>();
    Optional<Destination> single = route.object("mirror").map(VirtualServiceParser::readDestination);
    Optional<Double> mirrorPercentage = route.object("mirrorPercentage").flatMap(VirtualServiceParser::readPercent);
    // mirrorPercent is the same deprecated field by its JSON name, as Istio's mirroring task still writes it
    Optional<Long> mirrorPercent = Optional.empty();
    for (String deprecated : List.of("mirror_percent", "mirrorPercent")) {
      Optional<Long> percent = route.integer(deprecated, 0, 100);
      percent.ifPresent(p -> route.warn(deprecated, "deprecated: use mirrorPercentage"
          + (mirrorPercentage.isPresent() ? "; mirrorPercentage is set and takes precedence" : "")));
      mirrorPercent = mirrorPercent.or(() -> percent);
    }
    Optional<Long> deprecatedPercent = mirrorPercent;
    single.ifPresent(destination -> mirrors.add(new Mirror(destination,
        mirrorPercentage.orElseGet(() -> deprecatedPercent.map(Long::doubleValue).orElse(100.0)))));
    List<SpecReader> many = route.list("mirrors");
    if (!many.isEmpty() && single.isPresent()) {
      route.error("mirrors", "only one of mirror and mirrors may be set");
    }
    for (SpecReader entry : many) {
      Optional<Destination> destination = entry.object("destination").map(VirtualServiceParser::readDestination);
      if (destination.isEmpty()) {
        entry.error("destination", "a mirror needs a destination");
      }
      double percentage = entry.object("percentage").flatMap(VirtualServiceParser::readPercent).orElse(100.0);
      entry.finish();
      destination.ifPresent(d -> mirrors.add(new Mirror(d, percentage)));
    }
    return mirrors;
  }

  private static void checkWeights(SpecReader route, List<RouteDestination> destinations) {
    if (destinations.size() > 1) {
      long total = destinations.stream().mapToLong(RouteDestination::weight).sum();
      if (total == 0) {
        route.error("route", "with more than one destination the weights must add up to more than 0");
      }
    }
  }

  private static Match readMatch(SpecReader match) {
    String name = match.string("name").orElse("");
    Optional<StringMatch> uri = match.object("uri").flatMap(StringMatch::read);
    Optional<StringMatch> method = match.object("method").flatMap(StringMatch::read);
    Optional<StringMatch> authority = match.object("authority").flatMap(StringMatch::read);
    Optional<StringMatch> scheme = match.object("scheme").flatMap(StringMatch::read);
    Map<String, StringMatch> headers = readMatchMap(match, "headers", true);
    Map<String, StringMatch> withoutHeaders = readMatchMap(match, "withoutHeaders", true);
    Map<String, StringMatch> queryParams = readMatchMap(match, "queryParams", false);
    Optional<Integer> port = match.integer("port", 1, 65535).map(Long::intValue);
    Map<String, String> sourceLabels = match.stringMap("sourceLabels");
    Optional<String> sourceNamespace = match.string("sourceNamespace");
    boolean ignoreUriCase = match.bool("ignoreUriCase").orElse(false);
    List<String> gateways = match.stringList("gateways");
    match.notHonoured("statPrefix", "stats prefixes are an Envoy concern");
    if (!sourceLabels.isEmpty()) {
      match.warn("sourceLabels", "accepted but not enforced by Inmesh yet: the caller's labels are not matched, so this match is never taken");
    }
    match.finish();
    return new Match(name, uri, method, authority, scheme, headers, withoutHeaders, queryParams, port, sourceLabels,
        sourceNamespace, ignoreUriCase, gateways);
  }

  private static Map<String, StringMatch> readMatchMap(SpecReader match, String field, boolean headerNames) {
    Map<String, StringMatch> result = new LinkedHashMap<>();
    match.objectMap(field).forEach((key, value) -> {
      if (headerNames && !key.equals(key.toLowerCase(java.util.Locale.ROOT))) {
        match.error(field + "." + key, "header match key must be lowercase, got '" + key + "'");
      }
      if (headerNames && key.isEmpty()) {
        match.error(field, "header name must not be empty");
      }
      // an empty StringMatch ({}) means "present" for headers
      result.put(key, StringMatch.read(value).orElse(new StringMatch(StringMatch.Type.PREFIX, "")));
    });
    return result;
  }

  private static RouteDestination readRouteDestination(SpecReader destination, int count) {
    Destination target = destination.object("destination").map(VirtualServiceParser::readDestination).orElse(null);
    if (target == null) {
      destination.error("destination", "Required value");
      target = new Destination("", "", Optional.empty());
    }
    Optional<Long> weight = destination.integer("weight", Integer.MIN_VALUE, Integer.MAX_VALUE);
    if (weight.isPresent() && weight.get() < 0) {
      destination.error("weight", "weight must not be negative, got " + weight.get());
    }
    if (weight.isPresent() && weight.get() > 100) {
      destination.error("weight", "weight must be at most 100, got " + weight.get());
    }
    Optional<Headers> headers = destination.object("headers").map(VirtualServiceParser::readHeaders);
    destination.finish();
    int effective = weight.map(Long::intValue).orElse(count == 1 ? 100 : 0);
    return new RouteDestination(target, Math.max(0, effective), headers);
  }

  static Destination readDestination(SpecReader destination) {
    String host = destination.requiredString("host");
    if (!host.isEmpty() && !NetworkingFields.isValidWildcardHost(host)) {
      destination.error("host", "invalid host '" + host + "'");
    }
    String subset = destination.string("subset").orElse("");
    if (!subset.isEmpty()) {
      NetworkingFields.checkSubsetName(destination, "subset", subset);
    }
    Optional<Integer> port = destination.object("port").flatMap(selector -> {
      Optional<Long> number = selector.integer("number", 1, 65535);
      selector.finish();
      return number.map(Long::intValue);
    });
    destination.finish();
    return new Destination(host, subset, port);
  }

  private static Retry readRetry(SpecReader retry) {
    int attempts = retry.integer("attempts", 0, Integer.MAX_VALUE).map(Long::intValue).orElse(0);
    Optional<Duration> perTryTimeout = retry.duration("perTryTimeout", MIN_DURATION);
    List<String> retryOn = new ArrayList<>();
    retry.string("retryOn").ifPresent(text -> {
      for (String policy : text.split(",")) {
        String trimmed = policy.trim();
        if (trimmed.isEmpty()) {
          continue;
        }
        if (!RETRY_ON.contains(trimmed) && !trimmed.matches("\\d{3}")) {
          retry.error("retryOn", "unknown retry policy '" + trimmed + "'; expected one of " + RETRY_ON.stream().sorted().toList() + " or an HTTP status code");
        }
        retryOn.add(trimmed);
      }
    });
    Optional<Duration> backoff = retry.duration("backoff", MIN_DURATION);
    retry.notHonoured("retryRemoteLocalities", "retries prefer other endpoints; locality is not considered yet");
    retry.notHonoured("retryIgnorePreviousHosts", "Inmesh clients always prefer a different endpoint for a retry");
    retry.finish();
    return new Retry(attempts, perTryTimeout, retryOn, backoff);
  }

  private static Fault readFault(SpecReader fault) {
    Optional<Delay> delay = fault.object("delay").flatMap(d -> {
      Optional<Duration> fixed = d.duration("fixedDelay", MIN_DURATION);
      double percentage = readPercentage(d);
      d.notHonoured("exponentialDelay", "only fixedDelay is supported");
      if (fixed.isEmpty() && !d.has("exponentialDelay")) {
        d.error("fixedDelay", "Required value: a delay needs fixedDelay");
      }
      d.finish();
      return fixed.map(f -> new Delay(f, percentage));
    });
    Optional<Abort> abort = fault.object("abort").flatMap(a -> {
      Optional<Integer> httpStatus = a.integer("httpStatus", Integer.MIN_VALUE, Integer.MAX_VALUE).map(Long::intValue);
      if (httpStatus.isPresent() && (httpStatus.get() < 200 || httpStatus.get() > 599)) {
        a.error("httpStatus", "must be an HTTP status between 200 and 599, got " + httpStatus.get());
      }
      Optional<String> grpcStatus = a.string("grpcStatus");
      grpcStatus.ifPresent(status -> {
        if (!GrpcStatusNames.isValid(status)) {
          a.error("grpcStatus", "unknown gRPC status '" + status + "'; expected a name such as UNAVAILABLE");
        }
      });
      a.notHonoured("http2Error", "HTTP/2 error aborts need a proxy");
      double percentage = readPercentage(a);
      int kinds = (httpStatus.isPresent() ? 1 : 0) + (grpcStatus.isPresent() ? 1 : 0) + (a.has("http2Error") ? 1 : 0);
      if (kinds == 0) {
        a.error(null, "an abort needs httpStatus or grpcStatus");
      } else if (kinds > 1) {
        a.error(null, "only one of httpStatus, grpcStatus or http2Error may be set");
      }
      a.finish();
      return httpStatus.isPresent() || grpcStatus.isPresent()
          ? Optional.of(new Abort(httpStatus, grpcStatus, percentage)) : Optional.empty();
    });
    if (!fault.has("delay") && !fault.has("abort")) {
      fault.error(null, "a fault needs a delay or an abort");
    }
    fault.finish();
    return new Fault(delay, abort);
  }

  /** {@code percentage: {value: 12.5}}, or the deprecated integer {@code percent}; 100 when absent. */
  private static double readPercentage(SpecReader reader) {
    Optional<Double> percentage = reader.object("percentage").flatMap(VirtualServiceParser::readPercent);
    Optional<Long> percent = reader.integer("percent", 0, 100);
    percent.ifPresent(p -> reader.warn("percent", "deprecated: use percentage.value"));
    return percentage.orElse(percent.map(Long::doubleValue).orElse(100d));
  }

  private static Optional<Double> readPercent(SpecReader percent) {
    Optional<Double> value = percent.number("value", 0, 100);
    percent.finish();
    return value.isPresent() ? value : Optional.of(0d);
  }

  private static Rewrite readRewrite(SpecReader rewrite) {
    Optional<String> uri = rewrite.string("uri");
    Optional<String> authority = rewrite.string("authority");
    Optional<RegexRewrite> regex = rewrite.object("uriRegexRewrite").map(r -> {
      String match = r.requiredString("match");
      String replacement = r.string("rewrite").orElse("");
      try {
        com.google.re2j.Pattern.compile(match);
      } catch (com.google.re2j.PatternSyntaxException e) {
        r.error("match", "invalid RE2 regular expression '" + match + "': " + e.getDescription());
      }
      r.finish();
      return new RegexRewrite(match, replacement);
    });
    if (uri.isPresent() && regex.isPresent()) {
      rewrite.error("uriRegexRewrite", "only one of uri or uriRegexRewrite may be set");
    }
    if (uri.isEmpty() && authority.isEmpty() && regex.isEmpty()) {
      rewrite.error(null, "a rewrite needs uri, authority or uriRegexRewrite");
    }
    rewrite.finish();
    return new Rewrite(uri, authority, regex);
  }

  private static Redirect readRedirect(SpecReader redirect) {
    Optional<String> uri = redirect.string("uri");
    Optional<String> authority = redirect.string("authority");
    Optional<Integer> port = redirect.integer("port", 1, 65535).map(Long::intValue);
    redirect.notHonoured("derivePort", "the redirect keeps the request's port unless port is set");
    Optional<String> scheme = redirect.string("scheme");
    int code = redirect.integer("redirectCode", 300, 399).map(Long::intValue).orElse(301);
    if (uri.isEmpty() && authority.isEmpty() && port.isEmpty() && scheme.isEmpty()) {
      redirect.error(null, "a redirect needs uri, authority, port or scheme");
    }
    redirect.finish();
    return new Redirect(uri, authority, port, scheme, code);
  }

  private static DirectResponse readDirectResponse(SpecReader direct) {
    int status = direct.integer("status", 200, 599).map(Long::intValue).orElseGet(() -> {
      if (!direct.has("status")) {
        direct.error("status", "Required value");
      }
      return 200;
    });
    Optional<String> body = direct.object("body").flatMap(b -> {
      Optional<String> string = b.string("string");
      Optional<String> bytes = b.string("bytes");
      if (string.isPresent() && bytes.isPresent()) {
        b.error(null, "only one of string or bytes may be set");
      }
      b.finish();
      return string.isPresent() ? string
          : bytes.map(encoded -> new String(java.util.Base64.getDecoder().decode(encoded), java.nio.charset.StandardCharsets.UTF_8));
    });
    direct.finish();
    return new DirectResponse(status, body);
  }

  private static Headers readHeaders(SpecReader headers) {
    Optional<HeaderOperations> request = headers.object("request").map(VirtualServiceParser::readHeaderOperations);
    Optional<HeaderOperations> response = headers.object("response").map(VirtualServiceParser::readHeaderOperations);
    headers.finish();
    return new Headers(request, response);
  }

  private static HeaderOperations readHeaderOperations(SpecReader operations) {
    Map<String, String> set = operations.stringMap("set");
    Map<String, String> add = operations.stringMap("add");
    List<String> remove = operations.stringList("remove");
    operations.finish();
    return new HeaderOperations(set, add, remove);
  }
}
