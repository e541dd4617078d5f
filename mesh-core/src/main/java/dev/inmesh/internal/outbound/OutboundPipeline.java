package dev.inmesh.internal.outbound;

import dev.inmesh.MeshException;
import dev.inmesh.MeshSnapshot;
import dev.inmesh.Ticker;
import dev.inmesh.spi.CallOptions;
import dev.inmesh.spi.RequestView;
import dev.inmesh.spi.Transport;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/**
 * The outbound path of every mesh call, as a list of stages that {@code stages(...)} writes down in
 * order: <b>route</b> → <b>fault</b> → <b>cluster</b> → <b>mirror</b> → <b>retry and timeout</b>
 * → <b>admission</b> (mTLS certificate, connection limits) → <b>balance</b> → <b>endpoint</b>. Each
 * stage either answers the call or hands it on; the retry stage runs the last three once per attempt.
 *
 * <p>Failures the mesh itself produces come back as responses, with Envoy's status codes, body
 * texts and response flags, as they would through a sidecar; the {@code x-inmesh-flags} header
 * carries the flag.
 */
public final class OutboundPipeline implements AutoCloseable {
  public static final String EXPLAIN_HEADER = "x-inmesh-explain";
  public static final String FLAGS_HEADER = "x-inmesh-flags";
  /** Mirror copies sent at once, each on a thread of its own until its answer or its 5 s timeout. */
  public static final int MIRROR_THREADS = 8;
  /** Mirror copies waiting for a thread; past these, a copy is dropped and counted. */
  public static final int MIRROR_QUEUE = 64;

  private final SnapshotSource snapshots;
  private final ThreadPoolExecutor mirrors;
  private final Stage[] stages;

  /**
   * @param snapshots the config in force, this workload's address and certificate
   * @param ticker the clock of deadlines, per-try timeouts and outcome latencies
   * @param random draws weighted clusters, fault and mirror percentages and backoff jitter
   */
  public OutboundPipeline(SnapshotSource snapshots, Ticker ticker, RandomGenerator random) {
    this(snapshots, ticker, random, Sleeper.THREAD);
  }

  OutboundPipeline(SnapshotSource snapshots, Ticker ticker, RandomGenerator random, Sleeper sleeper) {
    this.snapshots = snapshots;
    AtomicInteger threads = new AtomicInteger();
    this.mirrors = new ThreadPoolExecutor(MIRROR_THREADS, MIRROR_THREADS, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(MIRROR_QUEUE), r -> {
          Thread thread = new Thread(r, "inmesh-mirror-" + threads.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    mirrors.allowCoreThreadTimeOut(true);
    this.stages = stages(snapshots, ticker, random, sleeper, mirrors);
  }

  /** The outbound order, in one place. Each stage is one class; a new route feature is a new stage here. */
  private static Stage[] stages(SnapshotSource workload, Ticker ticker, RandomGenerator random, Sleeper sleeper,
      ThreadPoolExecutor mirrors) {
    return new Stage[] {
        new RouteStage(random),                 // listener, route match, direct response/redirect, weighted cluster
        new FaultStage(random, sleeper),        // delay, then abort
        new ClusterStage(),                     // the cluster (NC), authority, path rewrite, header changes
        new MirrorStage(random, mirrors),       // fire-and-forget copies
        new RetryStage(ticker, random, sleeper), // deadline, per-try timeout, retryOn, budget, backoff: once per attempt below
        new AdmissionStage(ticker, workload),   // mTLS certificate, connection limits (permit held for the attempt)
        new BalanceStage(workload),             // the endpoint
        new EndpointStage(ticker),              // the transport; outlier detection and load report
    };
  }

  /**
   * Runs one call through the stages: the upstream's response, or the mesh's own answer. Waits for
   * the first complete config when none has arrived, and throws a {@link MeshException} ("call not
   * sent: ...") when it does not arrive in time.
   */
  public <R> R execute(RequestView request, Transport<R> transport, CallOptions options) throws IOException {
    // before the first config arrives no one knows which hosts are the mesh's, so every call waits
    return new OutboundCall<>(stages, ready(), request, transport, options).proceed();
  }

  private MeshSnapshot ready() {
    try {
      return snapshots.ready();
    } catch (MeshException e) {
      throw new MeshException("call not sent: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    mirrors.shutdownNow();
  }
}
