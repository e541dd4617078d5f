package dev.inmesh.internal.outbound;

import dev.inmesh.internal.balancing.PickRequest;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.Transport;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.random.RandomGenerator;

/**
 * Mirror: fire and forget. Each of the route's mirrors, drawn by its percentage, gets a copy of a
 * replayable request on the pipeline's bounded mirror pool; a one-shot body goes to the cluster
 * only. A mirror's outcome never reaches the caller and its failures are dropped; a copy the pool
 * cannot take is dropped and counted ({@code inmesh.mirror.requests{result="dropped"}}), so a slow
 * mirror costs copies, never threads or memory without end.
 */
final class MirrorStage implements Stage {
  static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final RandomGenerator random;
  private final Executor mirrors;

  MirrorStage(RandomGenerator random, Executor mirrors) {
    this.random = random;
    this.mirrors = mirrors;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    if (!call.route.mirrors().isEmpty() && call.transport.replayable()) {
      for (RouteAction.Mirror mirror : call.route.mirrors()) {
        if (random.nextInt(1_000_000) < mirror.perMillion()) {
          send(call, mirror);
        }
      }
    }
    return call.proceed();
  }

  private <R> void send(OutboundCall<R> call, RouteAction.Mirror mirror) {
    Optional<ClusterRuntime> cluster = call.snapshot.cluster(mirror.cluster());
    cluster.flatMap(c -> c.balancer().pick(PickRequest.ANY)).ifPresent(endpoint -> {
      Attempt attempt = new Attempt(0, mirror.cluster(), endpoint, call.request.path(), shadow(call.authority),
          List.of(call.route.headers()), TIMEOUT, UpstreamTls.forEndpoint(cluster.get().config().tls(), endpoint));
      Transport<R> transport = call.transport;
      try {
        mirrors.execute(() -> {
          try {
            transport.mirror(attempt);
          } catch (RuntimeException e) {
            // the mirror's outcome never affects the caller
          }
        });
        cluster.get().mirrorSent();
      } catch (RejectedExecutionException e) {
        cluster.get().mirrorDropped();
      }
    });
  }

  /**
   * The authority a mirror copy carries: the one the cluster gets, with {@code -shadow} on its host,
   * before any port ({@code httpbin:8000} becomes {@code httpbin-shadow:8000}), as Envoy writes it.
   */
  static String shadow(String authority) {
    int close = authority.startsWith("[") ? authority.indexOf(']') : -1;
    int colon = authority.indexOf(':', Math.max(close, 0));
    if (colon < 0 || (close < 0 && authority.lastIndexOf(':') != colon)) {
      // no port, or a bare IPv6 literal whose colons are not a port
      return authority + "-shadow";
    }
    return authority.substring(0, colon) + "-shadow" + authority.substring(colon);
  }
}
