package dev.inmesh.internal.outbound;

import dev.inmesh.internal.resilience.FaultConfig;
import dev.inmesh.internal.resilience.FaultDecision;
import dev.inmesh.internal.resilience.FaultInjector;
import java.io.IOException;
import java.util.Map;
import java.util.random.RandomGenerator;

/** Fault: the route's delay first, then its abort, each drawn by its own percentage, as Envoy's fault filter. */
final class FaultStage implements Stage {
  private final RandomGenerator random;
  private final Sleeper sleeper;

  FaultStage(RandomGenerator random, Sleeper sleeper) {
    this.random = random;
    this.sleeper = sleeper;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    if (call.route.fault().isEmpty()) {
      return call.proceed();
    }
    FaultDecision fault = FaultInjector.decide(call.route.fault().get(), random);
    if (fault.delay().isPresent()) {
      call.explain.delayed(fault.delay().get());
      sleeper.sleep(fault.delay().get());
    }
    if (fault.abort().isPresent()) {
      int status = httpStatus(fault.abort().get());
      call.explain.aborted(status);
      Map<String, String> headers = fault.abort().get() instanceof FaultConfig.AbortStatus.Grpc grpc
          ? Map.of("grpc-status", Integer.toString(grpc.code()), "grpc-message", "fault filter abort")
          : Map.of();
      return call.respond(status, "fault filter abort", headers, "FI");
    }
    return call.proceed();
  }

  /** A gRPC abort travels as HTTP 200 with a grpc-status trailer; over HTTP we answer Envoy's mapping. */
  private static int httpStatus(FaultConfig.AbortStatus status) {
    return status instanceof FaultConfig.AbortStatus.Http http ? http.code() : 200;
  }
}
