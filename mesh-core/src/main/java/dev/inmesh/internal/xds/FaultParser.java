package dev.inmesh.internal.xds;

import dev.inmesh.internal.resilience.FaultConfig;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import java.util.Optional;

/** Reads the fault filter's per-route HTTPFault into a {@link FaultConfig}. */
final class FaultParser {
  private FaultParser() {}

  static FaultConfig parse(String resource, String field, HTTPFault fault) throws XdsParseException {
    Optional<FaultConfig.Delay> delay = Optional.empty();
    if (fault.hasDelay()) {
      if (!fault.getDelay().hasFixedDelay()) {
        throw new XdsParseException(resource, field + ".delay", "only fixed_delay is supported (header-controlled delays are not)");
      }
      delay = Optional.of(new FaultConfig.Delay(RouteParser.duration(fault.getDelay().getFixedDelay()),
          percent(fault.getDelay().hasPercentage(), fault.getDelay().getPercentage())));
    }
    Optional<FaultConfig.Abort> abort = Optional.empty();
    if (fault.hasAbort()) {
      var proto = fault.getAbort();
      FaultConfig.AbortStatus status = switch (proto.getErrorTypeCase()) {
        case HTTP_STATUS -> {
          if (proto.getHttpStatus() < 200 || proto.getHttpStatus() > 599) {
            throw new XdsParseException(resource, field + ".abort.http_status", "must be between 200 and 599, got " + proto.getHttpStatus());
          }
          yield new FaultConfig.AbortStatus.Http(proto.getHttpStatus());
        }
        case GRPC_STATUS -> {
          if (proto.getGrpcStatus() < 1 || proto.getGrpcStatus() > 16) {
            throw new XdsParseException(resource, field + ".abort.grpc_status", "must be between 1 and 16, got " + proto.getGrpcStatus());
          }
          yield new FaultConfig.AbortStatus.Grpc(proto.getGrpcStatus());
        }
        default -> throw new XdsParseException(resource, field + ".abort",
            proto.getErrorTypeCase() + " is not supported; use http_status or grpc_status");
      };
      abort = Optional.of(new FaultConfig.Abort(status, percent(proto.hasPercentage(), proto.getPercentage())));
    }
    if (fault.hasMaxActiveFaults() || !fault.getHeadersList().isEmpty() || !fault.getDownstreamNodesList().isEmpty()) {
      throw new XdsParseException(resource, field, "max_active_faults, headers and downstream_nodes are not supported");
    }
    return new FaultConfig(delay, abort);
  }

  /** Envoy's default is 100% when the percentage is absent. */
  private static double percent(boolean present, io.envoyproxy.envoy.type.v3.FractionalPercent percentage) {
    return present ? RouteParser.perMillion(percentage) / 10_000.0 : 100.0;
  }
}
