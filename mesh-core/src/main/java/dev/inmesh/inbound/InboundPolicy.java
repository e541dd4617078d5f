package dev.inmesh.inbound;

import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import java.util.Objects;

/**
 * The policy of one inbound port, from the server listener mesh-control sends for it (gRFC A36
 * name {@code grpc/server?xds.resource.listening_address=<ip>:<port>}): which transports it accepts
 * which end-user tokens it checks (RequestAuthentication) and which requests authorization lets
 * through.
 *
 * @param listener the listener it came from, named in logs and refusals
 * @param authentication the end-user JWTs it verifies before authorization; none by default
 */
public record InboundPolicy(String listener, int port, MtlsMode mode, AuthorizationEngine authorization,
    JwtAuthentication authentication) {
  public InboundPolicy {
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(authorization, "authorization");
    Objects.requireNonNull(authentication, "authentication");
  }

  /** A policy without end-user authentication. */
  public InboundPolicy(String listener, int port, MtlsMode mode, AuthorizationEngine authorization) {
    this(listener, port, mode, authorization, JwtAuthentication.NONE);
  }
}
