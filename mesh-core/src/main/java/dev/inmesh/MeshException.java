package dev.inmesh;

/** The root of every exception Inmesh throws on purpose. Its message says what to fix. */
public class MeshException extends RuntimeException {
  public MeshException(String message) {
    super(message);
  }

  public MeshException(String message, Throwable cause) {
    super(message, cause);
  }
}
