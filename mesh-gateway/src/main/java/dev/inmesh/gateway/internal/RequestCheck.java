package dev.inmesh.gateway.internal;

import java.util.Optional;

/**
 * A check every gateway request passes before it goes into the mesh, on the worker thread: the
 * place where end-user authentication (RequestAuthentication's JWTs) and the gateway's
 * AuthorizationPolicy decision go. An answer refuses the request with it (401, 403); empty lets
 * it through. Today the only check is {@link #NONE}.
 */
@FunctionalInterface
interface RequestCheck {
  RequestCheck NONE = request -> Optional.empty();

  Optional<Forwarder.Answer> check(Forwarder.Incoming request);
}
