package dev.inmesh.http.client;

import java.io.IOException;

/** A mesh call that could not be sent, with what the mesh was still waiting for. */
public final class MeshCallException extends IOException {
  public MeshCallException(String message, Throwable cause) {
    super(message, cause);
  }
}
