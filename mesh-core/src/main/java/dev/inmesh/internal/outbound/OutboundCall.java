package dev.inmesh.internal.outbound;

import dev.inmesh.MeshSnapshot;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.resilience.Outcome;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import dev.inmesh.internal.routing.RouteTable;
import dev.inmesh.spi.CallOptions;
import dev.inmesh.spi.RequestView;
import dev.inmesh.spi.Transport;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * One call on its way through the {@linkplain OutboundPipeline#stages stages}: the request and its
 * transport, what the caller asked for, and what each stage decided so far (route, cluster, deadline,
 * the current attempt and its outcome). It lives on the caller's thread for one call; nothing in it is
 * shared. Stages read the fields the stages before them filled in.
 */
final class OutboundCall<R> {
  final RequestView request;
  final Transport<R> transport;
  final CallOptions options;
  final Explanation explain;
  final MeshSnapshot snapshot;
  private final Stage[] stages;
  private int next;

  // the route stage
  RouteTable.Matched matched;
  RouteAction.Forward route;
  RouteAction.WeightedCluster target;
  // the cluster stage
  ClusterRuntime cluster;
  String authority;
  String path;
  List<HeaderMutations> headerMutations;
  // the retry stage: the route deadline (Long.MAX_VALUE when none) and the current attempt
  long deadline = Long.MAX_VALUE;
  int attempt;
  Duration perTryTimeout = Duration.ZERO;
  // the balance stage: endpoints already tried, and the hash policy's key, computed on the first pick
  Set<Endpoint> tried = Set.of();
  OptionalLong hash;
  Endpoint endpoint;
  /**
   * What the endpoint stage saw of the current attempt; null when the mesh answered before the
   * attempt went out (no healthy upstream, overflow), which is never retried.
   */
  Outcome outcome;
  int status;
  /** The reason of the last failed TLS handshake, for the UF answer's body. */
  String tlsFailure;

  OutboundCall(Stage[] stages, MeshSnapshot snapshot, RequestView request, Transport<R> transport, CallOptions options) {
    this.stages = stages;
    this.snapshot = snapshot;
    this.request = request;
    this.transport = transport;
    this.options = options;
    this.explain = options.explain() ? new Explanation() : Explanation.DISABLED;
  }

  /** Runs the next stage. A stage may call it more than once (one attempt each): each time runs the rest of the list. */
  R proceed() throws IOException {
    int at = next;
    next = at + 1;
    try {
      return stages[at].handle(this);
    } finally {
      next = at;
    }
  }

  /** An answer of the mesh's own for a failure, with Envoy's status, body text and response flag. */
  R fail(int status, String flag, String body) {
    explain.result(status, flag);
    return respond(status, body, Map.of(), flag);
  }

  /** An answer of the mesh's own (a direct response, a redirect, a fault abort, a failure). */
  R respond(int status, String body, Map<String, String> headers, String flag) {
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.put(OutboundPipeline.FLAGS_HEADER, flag);
    if (options.explain()) {
      explain.result(status, flag);
      all.put(OutboundPipeline.EXPLAIN_HEADER, explain.toString());
    }
    return transport.synthesize(status, body, all);
  }

  /** The upstream's response as the caller gets it: the response header changes, the explanation if asked for. */
  R finish(R response) {
    explain.result(status, "");
    return transport.finish(response, target.responseHeaders().then(route.responseHeaders()),
        options.explain() ? java.util.Optional.of(explain.toString()) : java.util.Optional.empty());
  }
}
