package dev.inmesh.inbound;

import dev.inmesh.internal.security.authz.AuthorizationEngine;
import java.util.Objects;

/**
 * The policy of one inbound port, from the server listener mesh-control sends for it (gRFC A36
 * name {@code grpc/server?xds.resource.listening_address=<ip>:<port>}): which transports it accepts
 * and which requests authorization lets through.
 *
 * @param listener the listener it came from, named in logs and refusals
 */
public record InboundPolicy(String listener, int port, MtlsMode mode, AuthorizationEngine authorization) {
  public InboundPolicy {
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(authorization, "authorization");
  }
}
