package dev.inmesh.internal.outbound;

import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.internal.routing.StringMatcher;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The cluster the route picked (503 NC when the config does not have it), and the request as that
 * cluster gets it: the authority (rewritten, else the caller's Host), the path (prefix or regex
 * rewrite) and the request header changes of the route and of the weighted cluster.
 */
final class ClusterStage implements Stage {
  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    Optional<ClusterRuntime> found = call.snapshot.cluster(call.target.name());
    if (found.isEmpty()) {
      return call.fail(503, "NC", "cluster " + call.target.name() + " not found");
    }
    call.cluster = found.get();
    call.authority = authority(call);
    call.path = rewritePath(call.route, call.matched, call.request.path());
    call.headerMutations = List.of(call.route.headers(), call.target.headers());
    return call.proceed();
  }

  private static String authority(OutboundCall<?> call) {
    Optional<String> rewritten = call.route.rewrite().flatMap(RouteAction.Rewrite::authority);
    if (rewritten.isPresent()) {
      return rewritten.get();
    }
    Optional<String> host = call.request.header("host");
    return host.isPresent() ? host.get() : call.request.host() + ":" + call.request.port();
  }

  private static String rewritePath(RouteAction.Forward route, RouteTable.Matched matched, String path) {
    if (route.rewrite().isEmpty()) {
      return path;
    }
    RouteAction.Rewrite rewrite = route.rewrite().get();
    if (rewrite.prefix().isPresent()) {
      if (matched.route().match().path() instanceof StringMatcher.Prefix prefix) {
        return rewrite.prefix().get() + path.substring(Math.min(prefix.value().length(), path.length()));
      }
      return rewrite.prefix().get();
    }
    if (rewrite.regex().isPresent()) {
      // Envoy writes capture groups as \1; RE2/J as $1
      String substitution = rewrite.regexSubstitution().replaceAll("\\\\(\\d)", "\\$$1");
      return rewrite.regex().get().pattern().matcher(path).replaceAll(substitution);
    }
    return path;
  }
}
