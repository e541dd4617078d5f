package dev.inmesh.internal.resilience;

/** How one attempt against one endpoint ended, as outlier detection and retries classify it. */
public enum Outcome {
  SUCCESS,
  /** A 5xx other than 502, 503 or 504. */
  SERVER_ERROR,
  /** 502, 503 or 504 from the endpoint. */
  GATEWAY_ERROR,
  /** The connection could not be made (local origin); counts as a gateway error, as in Envoy. */
  CONNECT_FAILURE,
  /** The connection broke before a response (reset). */
  RESET,
  /** The per-try timeout fired. */
  TIMEOUT;

  public static Outcome ofStatus(int status) {
    if (status == 502 || status == 503 || status == 504) {
      return GATEWAY_ERROR;
    }
    return status >= 500 ? SERVER_ERROR : SUCCESS;
  }

  public boolean isFailure() {
    return this != SUCCESS;
  }
}
