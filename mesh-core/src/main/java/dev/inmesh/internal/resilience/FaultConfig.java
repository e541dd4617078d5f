package dev.inmesh.internal.resilience;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A route's fault injection, as Istio's {@code HTTPFaultInjection} and Envoy's {@code HTTPFault}:
 * delay some requests, abort some, each with its own percentage. Percentages are kept to a
 * millionth, as Envoy's {@code FractionalPercent} with denominator {@code MILLION}.
 */
public record FaultConfig(Optional<Delay> delay, Optional<Abort> abort) {
  public static final FaultConfig NONE = new FaultConfig(Optional.empty(), Optional.empty());

  public FaultConfig {
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(abort, "abort");
  }

  /** Holds {@code percent} of requests for {@code duration} before they go on. */
  public record Delay(Duration duration, double percent) {
    public Delay {
      Objects.requireNonNull(duration, "duration");
      if (duration.isNegative()) {
        throw new IllegalArgumentException("delay duration must not be negative, got " + duration);
      }
      requirePercent("delay", percent);
    }

    int perMillion() {
      return FaultConfig.perMillion(percent);
    }
  }

  /** Answers {@code percent} of requests with {@code status} without sending them. */
  public record Abort(AbortStatus status, double percent) {
    public Abort {
      Objects.requireNonNull(status, "status");
      requirePercent("abort", percent);
    }

    int perMillion() {
      return FaultConfig.perMillion(percent);
    }
  }

  /** The status an aborted request gets: HTTP for HTTP callers, gRPC for gRPC callers. */
  public sealed interface AbortStatus {
    /** Istio allows 200 to 599 for {@code httpStatus}. */
    record Http(int code) implements AbortStatus {
      public Http {
        if (code < 200 || code > 599) {
          throw new IllegalArgumentException("abort HTTP status must be between 200 and 599, got " + code);
        }
      }
    }

    /** A gRPC status code other than OK, 1 (CANCELLED) to 16 (UNAUTHENTICATED). */
    record Grpc(int code) implements AbortStatus {
      public Grpc {
        if (code < 1 || code > 16) {
          throw new IllegalArgumentException("abort gRPC status code must be between 1 and 16, got " + code);
        }
      }
    }
  }

  private static void requirePercent(String what, double percent) {
    if (!(percent >= 0 && percent <= 100)) {
      throw new IllegalArgumentException(what + " percent must be between 0 and 100, got " + percent);
    }
  }

  private static int perMillion(double percent) {
    return (int) Math.round(percent * 10_000);
  }
}
