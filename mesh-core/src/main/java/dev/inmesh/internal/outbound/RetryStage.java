package dev.inmesh.internal.outbound;

import dev.inmesh.Ticker;
import dev.inmesh.internal.resilience.Backoff;
import dev.inmesh.internal.resilience.BackoffConfig;
import dev.inmesh.internal.resilience.Outcome;
import dev.inmesh.internal.resilience.RetryBudget;
import dev.inmesh.internal.routing.RouteAction;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Retry and timeout: the route deadline (the caller's timeout, else the route's), a per-try
 * timeout the deadline caps, and one attempt after another down the rest of the stages while the
 * route's {@code retryOn} wants another, the deadline allows it and the cluster's retry budget has
 * room. A request that is not safe to replay is retried only when its connection failed (nothing
 * was sent). Between attempts, Envoy's jittered backoff; the last answer decides the response.
 */
final class RetryStage implements Stage {
  private static final Set<String> UNSAFE_METHODS = Set.of("POST", "PATCH", "CONNECT");

  private final Ticker ticker;
  private final RandomGenerator random;
  private final Sleeper sleeper;

  RetryStage(Ticker ticker, RandomGenerator random, Sleeper sleeper) {
    this.ticker = ticker;
    this.random = random;
    this.sleeper = sleeper;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    RouteAction.Forward route = call.route;
    Duration timeout = call.options.timeout().orElse(route.timeout());
    long deadline = timeout.isZero() ? Long.MAX_VALUE : ticker.nanoTime() + timeout.toNanos();
    call.deadline = deadline;
    Optional<RouteAction.RetryPolicy> retry = route.retry();
    int maxAttempts = 1 + (retry.isPresent() ? retry.get().numRetries() : 0);
    Duration perTry = retry.isPresent() ? retry.get().perTryTimeout().orElse(Duration.ZERO) : Duration.ZERO;
    Backoff backoff = null;
    RetryBudget budget = call.cluster.retryBudget();
    boolean retrying = false;
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
          return call.fail(504, "UT", "upstream request timeout");
        }
        // zero means "no limit"; the route deadline caps the per-try timeout
        call.perTryTimeout = deadline != Long.MAX_VALUE && (perTry.isZero() || perTry.toNanos() > remaining)
            ? Duration.ofNanos(remaining) : perTry;
        call.attempt = attempt;
        call.outcome = null;
        call.status = 0;
        R response = call.proceed();
        Outcome outcome = call.outcome;
        if (outcome == null) {
          // the mesh answered before the attempt went out
          return response;
        }
        boolean wanted = retry.isPresent() && attempt < maxAttempts && retryOn(retry.get(), outcome, call.status)
            && (safeToRepeat(call) || outcome == Outcome.CONNECT_FAILURE);
        boolean inTime = ticker.nanoTime() < deadline;
        if (wanted && inTime && budget.tryStartRetry()) {
          retrying = true;
          call.cluster.retried();
          if (response != null) {
            call.transport.discard(response);
          }
          if (backoff == null) {
            RouteAction.RetryPolicy policy = retry.get();
            backoff = Backoff.of(new BackoffConfig(policy.baseInterval(), policy.maxInterval()), random);
          }
          Duration pause = backoff.delay(attempt);
          long left = deadline - ticker.nanoTime();
          sleeper.sleep(left < pause.toNanos() ? Duration.ofNanos(Math.max(0, left)) : pause);
          continue;
        }
        if (wanted) {
          if (inTime) {
            call.cluster.retryRefused();
          }
          call.explain.retryNotTaken(inTime ? "retry budget exhausted" : "route timeout reached");
        }
        if (response != null) {
          return call.finish(response);
        }
        return switch (outcome) {
          case TIMEOUT -> call.fail(504, "UT", "upstream request timeout");
          case CONNECT_FAILURE -> call.fail(503, "UF",
              "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
                  + (call.tlsFailure == null ? "" : ", transport failure reason: TLS error: " + call.tlsFailure));
          default -> call.fail(503, "UR",
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

  private static boolean safeToRepeat(OutboundCall<?> call) {
    return call.transport.replayable() && call.options.idempotent()
        .orElse(!UNSAFE_METHODS.contains(call.request.method().toUpperCase(Locale.ROOT)));
  }

  /** Envoy's retry_on conditions, plus the numeric codes Istio allows in retryOn. */
  static boolean retryOn(RouteAction.RetryPolicy policy, Outcome outcome, int status) {
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
}
