package dev.inmesh.internal.outbound;

import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.Transport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A transport without a network: each attempt is answered by the test's {@link Upstream}, which
 * returns a status or throws what a real transport would (ConnectException, SocketTimeoutException
 * ...). It records the attempts, and the responses the mesh made itself.
 */
final class FakeTransport implements Transport<FakeTransport.Response> {
  /** How the upstream answers one attempt. */
  interface Upstream {
    int answer(Attempt attempt) throws IOException;
  }

  /** A response: from the upstream, or made by the mesh ({@code synthesized}), with the headers the caller sees. */
  record Response(int status, String body, Map<String, String> headers, boolean synthesized) {
    String flag() {
      return headers.getOrDefault(OutboundPipeline.FLAGS_HEADER, "-");
    }

    String explanation() {
      return headers.getOrDefault(OutboundPipeline.EXPLAIN_HEADER, "");
    }
  }

  static final Response PASSED_THROUGH = new Response(299, "passed through", Map.of(), false);

  private final Upstream upstream;
  private final boolean replayable;
  final List<Attempt> attempts = new ArrayList<>();
  final List<Response> discarded = new ArrayList<>();
  final List<Attempt> mirrored = new ArrayList<>();
  /** Counts down at the first mirror copy, which arrives on a mirror thread. */
  final java.util.concurrent.CountDownLatch mirrorArrived = new java.util.concurrent.CountDownLatch(1);

  private FakeTransport(Upstream upstream, boolean replayable) {
    this.upstream = upstream;
    this.replayable = replayable;
  }

  static FakeTransport answering(Upstream upstream) {
    return new FakeTransport(upstream, true);
  }

  /** A request whose body can be sent only once. */
  static FakeTransport oneShot(Upstream upstream) {
    return new FakeTransport(upstream, false);
  }

  @Override
  public Response passThrough() {
    return PASSED_THROUGH;
  }

  @Override
  public Response send(Attempt attempt) throws IOException {
    attempts.add(attempt);
    return new Response(upstream.answer(attempt), "from " + attempt.endpoint().hostPort(), Map.of(), false);
  }

  @Override
  public int status(Response response) {
    return response.status();
  }

  @Override
  public void discard(Response response) {
    discarded.add(response);
  }

  @Override
  public Response synthesize(int status, String body, Map<String, String> headers) {
    return new Response(status, body, Map.copyOf(headers), true);
  }

  @Override
  public Response finish(Response response, HeaderMutations responseHeaders, Optional<String> explanation) {
    Map<String, String> headers = new java.util.HashMap<>(response.headers());
    responseHeaders.set().forEach(e -> headers.put(e.getKey(), e.getValue()));
    explanation.ifPresent(text -> headers.put(OutboundPipeline.EXPLAIN_HEADER, text));
    return new Response(response.status(), response.body(), Map.copyOf(headers), false);
  }

  @Override
  public boolean replayable() {
    return replayable;
  }

  @Override
  public synchronized void mirror(Attempt attempt) {
    mirrored.add(attempt);
    mirrorArrived.countDown();
  }
}
