package dev.inmesh.spi;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What the caller says about one call: whether it is safe to repeat (overriding the method's
 * default), a timeout of its own, and whether it wants the explanation header back.
 *
 * <p>{@code gatewayRoutes} is for gateways: the name of the route configuration (RDS) of the
 * gateway server the request arrived on. The call is then routed as Envoy routes on a gateway
 * listener: the virtual host is chosen by the request's host among that configuration's, no route
 * answers 404 {@code NR}, and nothing passes through to hosts outside the mesh.
 */
public record CallOptions(Optional<Boolean> idempotent, Optional<Duration> timeout, boolean explain,
    Optional<String> gatewayRoutes) {
  public static final CallOptions DEFAULTS = new CallOptions(Optional.empty(), Optional.empty(), false);

  public CallOptions {
    Objects.requireNonNull(idempotent, "idempotent");
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(gatewayRoutes, "gatewayRoutes");
  }

  /** Options of a call routed by the listener of the host it dialled, as every mesh client's are. */
  public CallOptions(Optional<Boolean> idempotent, Optional<Duration> timeout, boolean explain) {
    this(idempotent, timeout, explain, Optional.empty());
  }

  /** These options, routed by a gateway server's route configuration {@code routeConfigName}. */
  public CallOptions withGatewayRoutes(String routeConfigName) {
    return new CallOptions(idempotent, timeout, explain, Optional.of(routeConfigName));
  }
}
