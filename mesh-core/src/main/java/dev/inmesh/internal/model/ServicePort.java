package dev.inmesh.internal.model;

import java.util.Objects;

/**
 * A port of a service. {@code number} is the port clients dial ({@code reviews:9080}); {@code
 * targetPort} is where this instance really listens, which differs when several instances share a
 * host, as they do on loopback.
 */
public record ServicePort(String name, int number, int targetPort, String protocol) {
  public ServicePort {
    Objects.requireNonNull(name, "name");
    protocol = Objects.requireNonNullElse(protocol, "");
    checkPort("number", number);
    checkPort("targetPort", targetPort);
  }

  public static ServicePort of(String name, int number, int targetPort) {
    return new ServicePort(name, number, targetPort, "GRPC");
  }

  private static void checkPort(String field, int value) {
    if (value < 1 || value > 65535) {
      throw new IllegalArgumentException(field + " must be between 1 and 65535, got " + value);
    }
  }
}
