package dev.inmesh.spi;

import dev.inmesh.Mesh;
import dev.inmesh.MeshConfig;
import dev.inmesh.Ticker;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.model.DestinationService;
import dev.inmesh.internal.telemetry.AccessLog;
import dev.inmesh.internal.telemetry.IstioMetrics;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.tracing.TraceContext;
import dev.inmesh.tracing.Tracing;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The per-call telemetry of every transport adapter, client and server, HTTP and gRPC: Istio's
 * request metrics ({@link IstioMetrics}), the access log line ({@link AccessLog}) and the span
 * ({@link Tracing}), through one small handle per call: {@linkplain #startClient started}, then
 * {@linkplain Call#sent sent} or {@linkplain Call#served served} with the response, then
 * {@linkplain Call#log logged} and {@linkplain Call#end ended}. The handle measures the call's time;
 * adapters only say what the transport saw.
 *
 * <p>One recorder is one reporter: it keeps at most {@value IstioMetrics#MAX_SERIES} label
 * combinations, so each adapter instance (a client, a door, a channel) makes its own. It is a
 * Micrometer {@link MeterBinder}: Istio's meters are registered in the registry it is bound to, each
 * at the first request of its label combination (a series no request has had yet would be a
 * guess at the labels).
 */
public final class CallRecorder implements MeterBinder {
  private final MeshConfig config;
  private final Optional<SpiffeId> identity;
  private final AccessLog accessLog;
  private final Tracing tracing;
  private final Ticker ticker;
  private final Clock clock;
  private volatile IstioMetrics metrics;

  private CallRecorder(MeshConfig config, Optional<SpiffeId> identity, AccessLog accessLog, Tracing tracing, Ticker ticker,
      Clock clock) {
    this.config = config;
    this.identity = identity;
    this.accessLog = Objects.requireNonNull(accessLog, "accessLog");
    this.tracing = Objects.requireNonNull(tracing, "tracing");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** A recorder for {@code mesh}'s workload, bound to its meter registry, writing its access log and spans. */
  public static CallRecorder of(Mesh mesh) {
    CallRecorder recorder = unbound(mesh.config(), mesh.certificates().map(c -> c.identity()), mesh.accessLog(),
        mesh.tracing());
    recorder.bindTo(mesh.meterRegistry());
    return recorder;
  }

  /**
   * A recorder for the workload {@code config} describes, to {@linkplain #bindTo bind} to a registry.
   *
   * @param identity this workload's SPIFFE ID when it holds a mesh certificate
   */
  public static CallRecorder unbound(MeshConfig config, Optional<SpiffeId> identity, AccessLog accessLog, Tracing tracing) {
    return unbound(config, identity, accessLog, tracing, Ticker.system(), Clock.systemUTC());
  }

  /** As {@link #unbound}, timing calls by {@code ticker} and stamping access log lines by {@code clock}. */
  public static CallRecorder unbound(MeshConfig config, Optional<SpiffeId> identity, AccessLog accessLog, Tracing tracing,
      Ticker ticker, Clock clock) {
    return new CallRecorder(Objects.requireNonNull(config, "config"), Objects.requireNonNull(identity, "identity"),
        accessLog, tracing, ticker, clock);
  }

  /** Istio's request meters go to {@code registry}; a recorder is bound once. */
  @Override
  public synchronized void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    if (metrics != null && metrics.registry() != registry) {
      throw new IllegalStateException("this CallRecorder is bound to a " + metrics.registry().getClass().getSimpleName()
          + " already; make one recorder per registry");
    }
    if (metrics == null) {
      metrics = new IstioMetrics(registry, config, identity);
    }
  }

  /** The registry this recorder is bound to. */
  public MeterRegistry registry() {
    return metrics().registry();
  }

  /** The FQDN Istio reports for a host a client dialled: short names resolve in this workload's namespace. */
  public String destinationService(String host) {
    return metrics().destinationService(host);
  }

  /** A call this workload sends, with a client span named {@code spanName}: a child of the request this thread serves, or a new trace. */
  public Call startClient(String spanName) {
    return new Call(tracing.startClient(spanName));
  }

  /** A request this workload serves, with a server span named {@code operation} continuing {@code caller}'s trace if it sent one. */
  public Call startServer(String operation, Optional<TraceContext> caller) {
    return new Call(tracing.startServer(operation, caller));
  }

  /** A call without a span of the mesh's: the caller propagates its own context, or another component traces it. */
  public Call startUntraced() {
    return new Call(null);
  }

  private IstioMetrics metrics() {
    IstioMetrics bound = metrics;
    if (bound == null) {
      throw new IllegalStateException("this CallRecorder is not bound to a meter registry yet: call bindTo(registry)");
    }
    return bound;
  }

  /**
   * How a call was answered, for Istio's metrics.
   *
   * @param protocol Istio's {@code request_protocol}: {@code http} or {@code grpc}
   * @param responseCode the HTTP status; 200 for every gRPC call that got a status, as Istio reports gRPC
   * @param responseFlags Envoy's response flags, {@code -} for none
   * @param requestBytes the request body's size, negative when unknown
   * @param responseBytes the response body's size, negative when unknown
   */
  public record Response(String protocol, int responseCode, Optional<Integer> grpcStatus, String responseFlags,
      long requestBytes, long responseBytes) {
    public Response {
      Objects.requireNonNull(protocol, "protocol");
      Objects.requireNonNull(grpcStatus, "grpcStatus");
      Objects.requireNonNull(responseFlags, "responseFlags");
    }

    /** An exchange answered with {@code responseCode} and no gRPC status. */
    public static Response of(String protocol, int responseCode, String responseFlags, long requestBytes,
        long responseBytes) {
      return new Response(protocol, responseCode, Optional.empty(), responseFlags, requestBytes, responseBytes);
    }

    /** A gRPC call that ended with {@code grpcStatus}: HTTP 200, body sizes unknown. */
    public static Response grpc(int grpcStatus, String responseFlags) {
      return new Response("grpc", 200, Optional.of(grpcStatus), responseFlags, -1, -1);
    }
  }

  /**
   * What the access log line says of a call besides its time, as Envoy's commands name it; a
   * header function answers by lower-case name ({@code :method}, {@code :path} and
   * {@code :authority} included), null when absent.
   *
   * @param protocol as Envoy prints it: {@code HTTP/1.1}, {@code HTTP/2}
   */
  public record LogLine(String protocol, int responseCode, String responseFlags, long bytesReceived, long bytesSent,
      String upstreamHost, String downstreamRemoteAddress, String downstreamPeerUriSan,
      Function<String, String> requestHeader, Function<String, String> responseHeader) {}

  /** One call: started when made, its time measured up to each record. Not for sharing beyond the call. */
  public final class Call {
    private final long start = ticker.nanoTime();
    private Tracing.Span span;
    private boolean ended;

    private Call(Tracing.Span span) {
      this.span = span;
    }

    /** The call's span; empty when the mesh does not trace it. */
    public Optional<Tracing.Span> span() {
      return Optional.ofNullable(span);
    }

    /** Opens this call's server span, when it has none yet: for a request decided before its headers were read. */
    public Call traceServer(String operation, Optional<TraceContext> caller) {
      if (span == null) {
        span = tracing.startServer(operation, caller);
      }
      return this;
    }

    /** Makes the span current on this thread until the scope closes; nothing to do without one. */
    public TraceContext.Scope attach() {
      return span == null ? () -> { } : span.attach();
    }

    /** The call failed with {@code error} before an answer: the span says so. */
    public void failed(Throwable error) {
      if (span != null) {
        span.error(error);
      }
    }

    /** Time since the call started, in nanoseconds. */
    public long elapsedNanos() {
      return ticker.nanoTime() - start;
    }

    /**
     * This workload sent the call to {@code service} and {@code server} answered: Istio's metrics
     * as the source reports them. The server's workload labels are believed when its certificate
     * vouches for its {@code answered} metadata.
     */
    public void sent(DestinationService service, Optional<SpiffeId> server, Optional<PeerMetadata> answered,
        Response response) {
      metrics().sent(service, server, answered, outcome(response));
    }

    /** As {@link #sent(DestinationService, Optional, Optional, Response)} to the service with FQDN {@code destinationService}. */
    public void sent(String destinationService, Optional<SpiffeId> server, Optional<PeerMetadata> answered,
        Response response) {
      metrics().sent(destinationService, server, answered, outcome(response));
    }

    /**
     * This workload answered the call: Istio's metrics as the destination reports them.
     *
     * @param source the caller's SPIFFE ID, from its certificate; empty for plaintext
     * @param securityPolicy {@code mutual_tls}, {@code none}, or {@code unknown} when the transport is not known
     */
    public void served(Optional<SpiffeId> source, String securityPolicy, Optional<PeerMetadata> caller, Response response) {
      metrics().served(source, securityPolicy, caller, outcome(response));
    }

    /** The access log line of the call, started when the call did and lasting until now. */
    public void log(LogLine line) {
      if (!accessLog.enabled()) {
        return;
      }
      accessLog.log(entry(line));
    }

    /** The access log's entry for {@code line}: started when the call did, lasting until now. */
    AccessLog.Entry entry(LogLine line) {
      long nanos = elapsedNanos();
      return new AccessLog.Entry(clock.instant().minusNanos(nanos), line.protocol(), line.responseCode(),
          line.responseFlags(), line.bytesReceived(), line.bytesSent(), nanos / 1_000_000, line.upstreamHost(), null,
          line.downstreamRemoteAddress(), line.downstreamPeerUriSan(), null, line.requestHeader(), line.responseHeader());
    }

    /** Whether {@link #log} writes anything: a caller may skip gathering the line when not. */
    public boolean logging() {
      return accessLog.enabled();
    }

    /** Ends the span, once. */
    public void end() {
      if (span != null && !ended) {
        ended = true;
        span.end();
      }
    }

    private IstioMetrics.Outcome outcome(Response response) {
      return new IstioMetrics.Outcome(response.protocol(), response.responseCode(), response.grpcStatus(),
          response.responseFlags(), elapsedNanos() / 1_000_000.0, response.requestBytes(), response.responseBytes());
    }
  }
}
