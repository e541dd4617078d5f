package dev.inmesh.ca;

import java.util.Objects;

/**
 * The CA refused a request, or could not start. The {@link Reason} says which rule was broken and
 * how a transport should answer; the message says what to fix. When this is thrown, nothing was
 * issued.
 *
 * <p>The CA is its own jar and does not carry mesh-core, so this is not a {@code MeshException}:
 * workloads never see it, they see the CA's answer over gRPC or HTTPS.
 */
public final class CaException extends RuntimeException {

  /** How a transport answers: HTTP status and the matching gRPC status. */
  public enum Kind {
    INVALID_REQUEST(400, "INVALID_ARGUMENT"),
    UNAUTHENTICATED(401, "UNAUTHENTICATED"),
    PERMISSION_DENIED(403, "PERMISSION_DENIED"),
    INTERNAL(500, "INTERNAL");

    private final int httpStatus;
    private final String grpcCode;

    Kind(int httpStatus, String grpcCode) {
      this.httpStatus = httpStatus;
      this.grpcCode = grpcCode;
    }

    public int httpStatus() {
      return httpStatus;
    }

    /** The name of the {@code io.grpc.Status.Code}. */
    public String grpcCode() {
      return grpcCode;
    }
  }

  /** Which rule refused the request. */
  public enum Reason {
    /** Not a PEM PKCS#10 request, or one that cannot be parsed. */
    MALFORMED_CSR(Kind.INVALID_REQUEST),
    /** The CSR's signature does not verify with the key it carries: no proof of possession. */
    BAD_CSR_SIGNATURE(Kind.INVALID_REQUEST),
    /** RSA under 2048 bits, an EC curve other than P-256 or P-384, or another key type. */
    WEAK_KEY(Kind.INVALID_REQUEST),
    /** The CSR's SANs are not exactly one SPIFFE mesh identity in this trust domain. */
    BAD_IDENTITY(Kind.INVALID_REQUEST),
    /** The requested lifetime is negative or above the CA's maximum. */
    BAD_TTL(Kind.INVALID_REQUEST),
    /** Neither a join token nor a client certificate came with the request. */
    NO_CREDENTIAL(Kind.UNAUTHENTICATED),
    /** The join token is not one this CA created. */
    BAD_TOKEN(Kind.UNAUTHENTICATED),
    /** The join token's lifetime is over. */
    EXPIRED_TOKEN(Kind.UNAUTHENTICATED),
    /** The join token was already used; tokens are single use. */
    REUSED_TOKEN(Kind.UNAUTHENTICATED),
    /** The client certificate does not verify against the trust bundle, has expired or has no mesh identity. */
    UNTRUSTED_CERTIFICATE(Kind.UNAUTHENTICATED),
    /** The credential is valid but for another identity than the CSR asks for. */
    IDENTITY_MISMATCH(Kind.PERMISSION_DENIED),
    /** The CA itself failed: its root cannot be read or written, or signing failed. */
    CA_FAILURE(Kind.INTERNAL);

    private final Kind kind;

    Reason(Kind kind) {
      this.kind = kind;
    }

    public Kind kind() {
      return kind;
    }
  }

  private final Reason reason;

  public CaException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public CaException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }
}
