package dev.inmesh.gateway.internal;

/** A gateway server that cannot be served as configured (a missing certificate, say); the message names it. */
public final class GatewayConfigException extends RuntimeException {
  public GatewayConfigException(String message) {
    super(message);
  }

  public GatewayConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
