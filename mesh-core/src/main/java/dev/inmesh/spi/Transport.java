package dev.inmesh.spi;

import java.io.IOException;
import java.util.Map;

/**
 * How the outbound pipeline talks to one kind of client (OkHttp today). The pipeline decides
 * where and when; the transport only sends one attempt, reads its status, and makes the responses
 * that the mesh itself gives (a fault abort, "no healthy upstream", a timeout).
 */
public interface Transport<R> {
  /** Sends the request as it is, for a host that is not in the mesh. */
  R passThrough() throws IOException;

  /**
   * Sends one attempt and returns its response. Throws {@link java.net.ConnectException} when no
   * connection could be made, {@link java.net.SocketTimeoutException} when {@code attempt.timeout()}
   * passed, {@link UpstreamOverflowException} when the cluster's connection limits refused the
   * attempt before it was sent, and another {@link IOException} when the exchange broke.
   */
  R send(Attempt attempt) throws IOException;

  int status(R response);

  /** Releases a response that the pipeline drops for a retry. */
  void discard(R response);

  /** A response made by the mesh, with Envoy's body text and an {@code x-inmesh-flags} header. */
  R synthesize(int status, String body, Map<String, String> headers);

  /**
   * The response as the caller gets it: with the route's response header changes and, when the
   * caller asked, the explanation header.
   */
  R finish(R response, dev.inmesh.internal.routing.RouteAction.HeaderMutations responseHeaders, java.util.Optional<String> explanation);

  /** Whether the request body can be sent again (a one-shot body cannot). */
  boolean replayable();

  /**
   * Sends a copy of a {@linkplain #replayable() replayable} request to a mirror and waits for its
   * answer, at most {@code attempt.timeout()}; the outcome is ignored. It runs on the pipeline's bounded mirror pool and must not hand the copy on to
   * another executor: that pool is what bounds the mirrors in flight. Transports without mirroring
   * do nothing.
   */
  default void mirror(Attempt attempt) {}
}
