package dev.inmesh.internal.outbound;

import dev.inmesh.Ticker;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.resilience.Outcome;
import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.UpstreamOverflowException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import javax.net.ssl.SSLException;

/**
 * Endpoint: the transport sends the attempt to the picked endpoint (over mesh mTLS when the
 * endpoint takes it); its outcome goes to outlier detection, the load report and the explanation,
 * and back to the retry stage. A failed exchange leaves no response, only its outcome.
 */
final class EndpointStage implements Stage {
  private final Ticker ticker;

  EndpointStage(Ticker ticker) {
    this.ticker = ticker;
  }

  @Override
  public <R> R handle(OutboundCall<R> call) throws IOException {
    ClusterRuntime cluster = call.cluster;
    Endpoint endpoint = call.endpoint;
    R response = null;
    Outcome outcome;
    int status = 0;
    cluster.started(endpoint);
    long sentAt = ticker.nanoTime();
    try {
      response = call.transport.send(new Attempt(call.attempt, cluster.name(), endpoint, call.path, call.authority,
          call.headerMutations, call.perTryTimeout, UpstreamTls.forEndpoint(cluster.config().tls(), endpoint)));
      status = call.transport.status(response);
      outcome = Outcome.ofStatus(status);
    } catch (UpstreamOverflowException e) {
      // refused before it was sent: no outcome for the endpoint
      cluster.refused(e.refusal());
      return call.fail(503, "UO", "upstream overflow: " + cluster.name() + ": " + e.getMessage());
    } catch (ConnectException e) {
      outcome = Outcome.CONNECT_FAILURE;
      call.tlsFailure = null;
    } catch (SSLException e) {
      // as Envoy: a failed handshake is a connection failure, and its reason goes in the answer
      outcome = Outcome.CONNECT_FAILURE;
      call.tlsFailure = e.getMessage();
    } catch (SocketTimeoutException e) {
      outcome = Outcome.TIMEOUT;
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      outcome = Outcome.RESET;
    } finally {
      cluster.finished(endpoint);
    }
    cluster.outliers().record(endpoint, outcome);
    cluster.loadStats().record(endpoint, outcome, ticker.nanoTime() - sentAt);
    call.explain.attempt(endpoint, status, outcome);
    call.outcome = outcome;
    call.status = status;
    return response;
  }
}
