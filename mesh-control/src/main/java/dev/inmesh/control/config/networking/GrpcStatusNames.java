package dev.inmesh.control.config.networking;

import java.util.Set;

/** The gRPC status names Istio accepts in {@code fault.abort.grpcStatus}. */
public final class GrpcStatusNames {
  private static final java.util.List<String> NAMES = java.util.List.of(
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED");
  private static final Set<String> VALID = Set.copyOf(NAMES);

  private GrpcStatusNames() {}

  public static boolean isValid(String name) {
    return VALID.contains(name);
  }

  /** The numeric code of a status name; {@link #isValid} must hold. */
  public static int code(String name) {
    return NAMES.indexOf(name);
  }
}
