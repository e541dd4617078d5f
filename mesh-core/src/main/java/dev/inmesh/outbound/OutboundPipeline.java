package dev.inmesh.outbound;

import dev.inmesh.Mesh;
import dev.inmesh.MeshException;
import dev.inmesh.MeshSnapshot;
import dev.inmesh.balancing.PickRequest;
import dev.inmesh.model.Endpoint;
import dev.inmesh.model.ListenerConfig;
import dev.inmesh.model.Ticker;
import dev.inmesh.model.UpstreamTls;
import dev.inmesh.resilience.Admission;
import dev.inmesh.resilience.Backoff;
import dev.inmesh.resilience.BackoffConfig;
import dev.inmesh.resilience.FaultConfig;
import dev.inmesh.resilience.FaultDecision;
import dev.inmesh.resilience.FaultInjector;
import dev.inmesh.resilience.Outcome;
import dev.inmesh.resilience.RetryBudget;
import dev.inmesh.routing.RequestView;
import dev.inmesh.routing.RouteAction;
import dev.inmesh.routing.RouteAction.HeaderMutations;
import dev.inmesh.routing.RouteTable;
import dev.inmesh.routing.StringMatcher;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/**
 * The outbound path of every mesh call, in this order: <b>route</b> (listener, virtual host, first
 * matching route, weighted cluster) → <b>fault</b> (delay, then abort) → <b>retry and timeout</b>
 * (route deadline, per-try timeout, retryOn, budget, backoff, never replaying what is not safe to
 * replay) → <b>balance</b> (an endpoint, another one for each retry) → <b>endpoint</b> (connection
 * limits, outlier detection). {@link #execute} is that order, in one method.
 *
 * <p>Failures the mesh itself produces come back as responses, with Envoy's status codes, body
 * texts and response flags, as they would through a sidecar; the {@code x-inmesh-flags} header
 * carries the flag.
 */
public final class OutboundPipeline implements AutoCloseable {
  public static final String EXPLAIN_HEADER = "x-inmesh-explain";
  public static final String FLAGS_HEADER = "x-inmesh-flags";
  private static final Set<String> UNSAFE_METHODS = Set.of("POST", "PATCH", "CONNECT");
  /** Mirror copies sent at once, each on a thread of its own until its answer or its 5 s timeout. */
  public static final int MIRROR_THREADS = 8;
  /** Mirror copies waiting for a thread; past these, a copy is dropped and counted. */
  public static final int MIRROR_QUEUE = 64;
  private static final Duration MIRROR_TIMEOUT = Duration.ofSeconds(5);
  /** How long a pending request waits for a connection when the route has no timeout: as long as it takes. */
  private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE);

  private final Mesh mesh;
  private final Ticker ticker;
  private final RandomGenerator random;
  private final ThreadPoolExecutor mirrors;

  public OutboundPipeline(Mesh mesh, Ticker ticker, RandomGenerator random) {
    this.mesh = mesh;
    this.ticker = ticker;
    this.random = random;
    AtomicInteger threads = new AtomicInteger();
    this.mirrors = new ThreadPoolExecutor(MIRROR_THREADS, MIRROR_THREADS, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(MIRROR_QUEUE), r -> {
          Thread thread = new Thread(r, "inmesh-mirror-" + threads.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    mirrors.allowCoreThreadTimeOut(true);
  }

  public <R> R execute(RequestView request, Transport<R> transport, CallOptions options) throws IOException {
    // before the first config arrives no one knows which hosts are the mesh's, so every call waits
    MeshSnapshot snapshot = ready();
    int defaultPort = request.scheme().equals("https") ? 443 : 80;
    Optional<ListenerConfig> listener = snapshot.listener(request.host(), request.port(), defaultPort);
    if (listener.isEmpty()) {
      return transport.passThrough();
    }
    Explanation explain = options.explain() ? new Explanation() : Explanation.DISABLED;
    explain.listener(listener.get().name());
    Optional<RouteTable> table = snapshot.routeTable(listener.get());
    if (table.isEmpty()) {
      return fail(transport, explain, options, 503, "NR", "route configuration " + listener.get().routeConfigName() + " has not arrived");
    }
    Optional<RouteTable.Matched> matched = table.get().route(listener.get().name(), request);
    if (matched.isEmpty()) {
      return fail(transport, explain, options, 404, "NR", "no route matched");
    }
    explain.route(matched.get().route().name());
    RouteAction action = matched.get().route().action();
    if (action instanceof RouteAction.DirectResponse direct) {
      return respond(transport, explain, options, direct.status(), direct.body(), Map.of(), "DR");
    }
    if (action instanceof RouteAction.Redirect redirect) {
      String location = redirect.location(request.scheme(), request.host(), request.port(), request.path());
      return respond(transport, explain, options, redirect.status(), "", Map.of("location", location), "RD");
    }
    return forward(snapshot, request, transport, options, explain, matched.get(), (RouteAction.Forward) action);
  }

  private <R> R forward(MeshSnapshot snapshot, RequestView request, Transport<R> transport, CallOptions options,
      Explanation explain, RouteTable.Matched matched, RouteAction.Forward route) throws IOException {
    RouteAction.WeightedCluster target = pickWeighted(route);
    explain.cluster(target.name());

    // fault: the delay first, then the abort, each drawn by its own percentage
    if (route.fault().isPresent()) {
      FaultDecision fault = FaultInjector.decide(route.fault().get(), random);
      if (fault.delay().isPresent()) {
        explain.delayed(fault.delay().get());
        sleep(fault.delay().get());
      }
      if (fault.abort().isPresent()) {
        int status = httpStatus(fault.abort().get());
        explain.aborted(status);
        Map<String, String> headers = fault.abort().get() instanceof FaultConfig.AbortStatus.Grpc grpc
            ? Map.of("grpc-status", Integer.toString(grpc.code()), "grpc-message", "fault filter abort")
            : Map.of();
        return respond(transport, explain, options, status, "fault filter abort", headers, "FI");
      }
    }

    Optional<ClusterRuntime> found = snapshot.cluster(target.name());
    if (found.isEmpty()) {
      return fail(transport, explain, options, 503, "NC", "cluster " + target.name() + " not found");
    }
    ClusterRuntime cluster = found.get();
    String authority = route.rewrite().flatMap(RouteAction.Rewrite::authority)
        .orElse(request.header("host").orElse(request.host() + ":" + request.port()));
    mirror(snapshot, route, request, authority, transport);

    // retry and timeout
    Duration timeout = options.timeout().orElse(route.timeout());
    long deadline = timeout.isZero() ? Long.MAX_VALUE : ticker.nanoTime() + timeout.toNanos();
    Optional<RouteAction.RetryPolicy> retry = route.retry();
    int maxAttempts = 1 + retry.map(RouteAction.RetryPolicy::numRetries).orElse(0);
    boolean safeToRepeat = transport.replayable()
        && options.idempotent().orElse(!UNSAFE_METHODS.contains(request.method().toUpperCase(Locale.ROOT)));
    Backoff backoff = retry.map(p -> Backoff.of(new BackoffConfig(p.baseInterval(), p.maxInterval()), random)).orElse(null);
    OptionalLong hash = hash(route, request);
    String path = rewritePath(route, matched, request.path());
    List<HeaderMutations> mutations = List.of(route.headers(), target.headers());
    Set<Endpoint> tried = new HashSet<>();
    boolean retrying = false;
    String tlsFailure = null;
    RetryBudget budget = cluster.retryBudget();
    budget.requestStarted();
    try {
      for (int attempt = 1; ; attempt++) {
        if (retrying) {
          // a retry counts against the budget until its attempt is over
          budget.retryDone();
          retrying = false;
        }
        long remaining = deadline - ticker.nanoTime();
        if (remaining <= 0) {
          return fail(transport, explain, options, 504, "UT", "upstream request timeout");
        }
        // zero means "no limit"; the route deadline caps the per-try timeout
        Duration perTry = retry.flatMap(RouteAction.RetryPolicy::perTryTimeout).orElse(Duration.ZERO);
        if (deadline != Long.MAX_VALUE && (perTry.isZero() || perTry.toNanos() > remaining)) {
          perTry = Duration.ofNanos(remaining);
        }

        // endpoint: mTLS needs a certificate, then limits, then the balancer's pick
        Optional<UpstreamTls> clusterTls = cluster.config().tls();
        if (clusterTls.isPresent() && clusterTls.get().scope() == UpstreamTls.Scope.EVERY_ENDPOINT
            && clusterTls.get().meshMutualTls() && mesh.certificates().isEmpty()) {
          return fail(transport, explain, options, 503, "UF", "upstream connect error: " + cluster.name()
              + " requires mesh mutual TLS, and this Mesh has no certificate (build it with certificateAuthority(...))");
        }
        // a request waits for a connection as one of the cluster's pending requests, up to the deadline
        Admission admission = cluster.limiter().acquire(deadline == Long.MAX_VALUE
            ? FOREVER : Duration.ofNanos(Math.max(0, deadline - ticker.nanoTime())));
        if (admission instanceof Admission.Refusal refusal) {
          if (ticker.nanoTime() >= deadline) {
            return fail(transport, explain, options, 504, "UT", "upstream request timeout");
          }
          cluster.refused(refusal);
          return fail(transport, explain, options, 503, "UO", "upstream overflow: " + cluster.name() + ": " + refusal.message());
        }
        Admission.Permit permit = (Admission.Permit) admission;
        Optional<Endpoint> picked = cluster.balancer().pick(new PickRequest(hash, tried));
        if (picked.isEmpty()) {
          permit.close();
          return fail(transport, explain, options, 503, "UH", "no healthy upstream");
        }
        Endpoint endpoint = picked.get();
        tried.add(endpoint);

        R response = null;
        Outcome outcome;
        int status = 0;
        cluster.started(endpoint);
        long sentAt = ticker.nanoTime();
        try {
          response = transport.send(new Attempt(attempt, cluster.name(), endpoint, path, authority, mutations, perTry,
              UpstreamTls.forEndpoint(clusterTls, endpoint)));
          status = transport.status(response);
          outcome = Outcome.ofStatus(status);
        } catch (UpstreamOverflowException e) {
          // refused before it was sent: no outcome for the endpoint
          cluster.refused(e.refusal());
          return fail(transport, explain, options, 503, "UO", "upstream overflow: " + cluster.name() + ": " + e.getMessage());
        } catch (ConnectException e) {
          outcome = Outcome.CONNECT_FAILURE;
          tlsFailure = null;
        } catch (javax.net.ssl.SSLException e) {
          // as Envoy: a failed handshake is a connection failure, and its reason goes in the answer
          outcome = Outcome.CONNECT_FAILURE;
          tlsFailure = e.getMessage();
        } catch (SocketTimeoutException e) {
          outcome = Outcome.TIMEOUT;
        } catch (InterruptedIOException e) {
          throw e;
        } catch (IOException e) {
          outcome = Outcome.RESET;
        } finally {
          cluster.finished(endpoint);
          permit.close();
        }
        cluster.outliers().record(endpoint, outcome);
        cluster.loadStats().record(endpoint, outcome, ticker.nanoTime() - sentAt);
        explain.attempt(endpoint, status, outcome);

        boolean wanted = retry.isPresent() && attempt < maxAttempts && retryOn(retry.get(), outcome, status)
            && (safeToRepeat || outcome == Outcome.CONNECT_FAILURE);
        boolean inTime = ticker.nanoTime() < deadline;
        if (wanted && inTime && budget.tryStartRetry()) {
          retrying = true;
          cluster.retried();
          if (response != null) {
            transport.discard(response);
          }
          Duration pause = backoff.delay(attempt);
          long left = deadline - ticker.nanoTime();
          sleep(left < pause.toNanos() ? Duration.ofNanos(Math.max(0, left)) : pause);
          continue;
        }
        if (wanted) {
          if (inTime) {
            cluster.retryRefused();
          }
          explain.retryNotTaken(inTime ? "retry budget exhausted" : "route timeout reached");
        }
        if (response != null) {
          explain.result(status, "");
          return transport.finish(response, target.responseHeaders().then(route.responseHeaders()), options.explain() ? Optional.of(explain.toString()) : Optional.empty());
        }
        return switch (outcome) {
          case TIMEOUT -> fail(transport, explain, options, 504, "UT", "upstream request timeout");
          case CONNECT_FAILURE -> fail(transport, explain, options, 503, "UF",
              "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
                  + (tlsFailure == null ? "" : ", transport failure reason: TLS error: " + tlsFailure));
          default -> fail(transport, explain, options, 503, "UR",
              "upstream connect error or disconnect/reset before headers. reset reason: connection termination");
        };
      }
    } finally {
      if (retrying) {
        budget.retryDone();
      }
      budget.requestDone();
    }
  }

  private MeshSnapshot ready() {
    MeshSnapshot snapshot = mesh.snapshot();
    if (snapshot.isReady()) {
      return snapshot;
    }
    try {
      return mesh.awaitReady(mesh.config().readyTimeout());
    } catch (MeshException e) {
      throw new MeshException("call not sent: " + e.getMessage(), e);
    }
  }

  /** Envoy's retry_on conditions, plus the numeric codes Istio allows in retryOn. */
  private static boolean retryOn(RouteAction.RetryPolicy policy, Outcome outcome, int status) {
    for (String condition : policy.retryOn()) {
      boolean matches = switch (condition) {
        case "5xx" -> outcome != Outcome.SUCCESS;
        case "gateway-error" -> outcome == Outcome.GATEWAY_ERROR || outcome == Outcome.TIMEOUT
            || outcome == Outcome.CONNECT_FAILURE || outcome == Outcome.RESET;
        case "reset", "reset-before-request" -> outcome == Outcome.RESET || outcome == Outcome.TIMEOUT
            || outcome == Outcome.CONNECT_FAILURE;
        case "connect-failure", "refused-stream", "unavailable" -> outcome == Outcome.CONNECT_FAILURE;
        case "retriable-4xx" -> status == 409;
        case "retriable-status-codes" -> policy.retriableStatusCodes().contains(status);
        // gRPC's conditions name gRPC statuses, which an HTTP answer never has
        case "cancelled", "deadline-exceeded", "internal", "resource-exhausted" -> false;
        default -> isStatusCode(condition) && Integer.parseInt(condition) == status;
      };
      if (matches) {
        return true;
      }
    }
    return false;
  }

  private static boolean isStatusCode(String condition) {
    return condition.length() == 3 && Character.isDigit(condition.charAt(0)) && Character.isDigit(condition.charAt(1))
        && Character.isDigit(condition.charAt(2));
  }

  /** A gRPC abort travels as HTTP 200 with a grpc-status trailer; over HTTP we answer Envoy's mapping. */
  private static int httpStatus(FaultConfig.AbortStatus status) {
    return status instanceof FaultConfig.AbortStatus.Http http ? http.code() : 200;
  }

  private RouteAction.WeightedCluster pickWeighted(RouteAction.Forward route) {
    if (route.clusters().size() == 1) {
      return route.clusters().get(0);
    }
    int roll = random.nextInt(route.totalWeight());
    for (RouteAction.WeightedCluster cluster : route.clusters()) {
      roll -= cluster.weight();
      if (roll < 0) {
        return cluster;
      }
    }
    return route.clusters().get(route.clusters().size() - 1);
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

  private OptionalLong hash(RouteAction.Forward route, RequestView request) {
    for (RouteAction.HashPolicy policy : route.hashPolicies()) {
      Optional<String> key = switch (policy.kind()) {
        case HEADER -> request.header(policy.name());
        case COOKIE -> request.header("cookie").flatMap(cookies -> cookie(cookies, policy.name()));
        case QUERY_PARAMETER -> request.queryParameter(policy.name());
        case SOURCE_IP -> Optional.of(mesh.config().address());
      };
      if (key.isPresent()) {
        // the ring's own hash: FNV-1a alone leaves keys that differ in their last character close
        // together on the ring, so similar user ids would all land on one endpoint
        return OptionalLong.of(dev.inmesh.balancing.RingHashLoadBalancer.hash(key.get()));
      }
    }
    return OptionalLong.empty();
  }

  private static Optional<String> cookie(String header, String name) {
    for (String part : header.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0 && part.substring(0, eq).trim().equals(name)) {
        return Optional.of(part.substring(eq + 1).trim());
      }
    }
    return Optional.empty();
  }

  /**
   * Fire and forget: a mirror's outcome never reaches the caller, and its failures are dropped. The
   * copies go out on {@value #MIRROR_THREADS} threads with {@value #MIRROR_QUEUE} waiting; past that
   * a copy is dropped and counted ({@code inmesh.mirror.requests{result="dropped"}}), so a slow
   * mirror costs copies, never threads or memory without end.
   */
  private <R> void mirror(MeshSnapshot snapshot, RouteAction.Forward route, RequestView request, String authority,
      Transport<R> transport) {
    if (route.mirrors().isEmpty() || !transport.replayable()) {
      // a one-shot body goes to the cluster only
      return;
    }
    for (RouteAction.Mirror mirror : route.mirrors()) {
      if (random.nextInt(1_000_000) >= mirror.perMillion()) {
        continue;
      }
      Optional<ClusterRuntime> cluster = snapshot.cluster(mirror.cluster());
      cluster.flatMap(c -> c.balancer().pick(PickRequest.ANY)).ifPresent(endpoint -> {
        Attempt attempt = new Attempt(0, mirror.cluster(), endpoint, request.path(),
            shadow(authority), List.of(route.headers()), MIRROR_TIMEOUT,
            UpstreamTls.forEndpoint(cluster.get().config().tls(), endpoint));
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

  private <R> R fail(Transport<R> transport, Explanation explain, CallOptions options, int status, String flag, String body) {
    explain.result(status, flag);
    return respond(transport, explain, options, status, body, Map.of(), flag);
  }

  private <R> R respond(Transport<R> transport, Explanation explain, CallOptions options, int status, String body,
      Map<String, String> headers, String flag) {
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.put(FLAGS_HEADER, flag);
    if (options.explain()) {
      explain.result(status, flag);
      all.put(EXPLAIN_HEADER, explain.toString());
    }
    return transport.synthesize(status, body, all);
  }

  private static void sleep(Duration duration) throws InterruptedIOException {
    if (duration.isZero() || duration.isNegative()) {
      return;
    }
    try {
      Thread.sleep(duration.toMillis(), (int) (duration.toNanos() % 1_000_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while the mesh delayed the call");
    }
  }

  @Override
  public void close() {
    mirrors.shutdownNow();
  }
}
