package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import dev.inmesh.MeshException;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.model.DestinationService;
import dev.inmesh.internal.outbound.OutboundPipeline;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.spi.CallOptions;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.tracing.TraceContext;
import dev.inmesh.tracing.Tracing;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import okhttp3.Headers;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import retrofit2.Invocation;

/**
 * The application interceptor that puts OkHttp calls on the mesh. Calls to hosts the mesh knows
 * run through mesh-core's outbound pipeline (route, fault, retry and timeout, balance, endpoint);
 * calls to other hosts pass through untouched. It must be the last application interceptor: it
 * may send several attempts down the chain.
 */
final class MeshInterceptor implements Interceptor {
  private final Mesh mesh;
  private final OkHttpClient mirrorClient;
  private final MeshTlsClients tlsClients;
  private final ClusterClients clusterClients;
  private final OkHttpClient plaintext;
  private final CallRecorder recorder;
  private final KnownHosts hosts;
  private static final String CLUSTER_LOCAL = ".svc.cluster.local";
  /** Istio's metadata exchange headers, the same on every call: built (and checked by OkHttp) once. */
  private final Headers peerMetadata;

  MeshInterceptor(Mesh mesh, OkHttpClient mirrorClient) {
    this.mesh = mesh;
    this.mirrorClient = mirrorClient;
    this.tlsClients = new MeshTlsClients(mesh, mirrorClient);
    this.clusterClients = new ClusterClients(mesh);
    // the caller's client as the mesh sends on it: its interceptors already ran, and the mesh decides retries
    OkHttpClient.Builder plaintext = mirrorClient.newBuilder().retryOnConnectionFailure(false);
    plaintext.interceptors().clear();
    this.plaintext = plaintext.build();
    PeerMetadata self = PeerMetadata.of(mesh.config());
    this.peerMetadata = new Headers.Builder().add(PeerMetadata.HEADER, self.encode()).add(PeerMetadata.ID_HEADER, self.id())
        .build();
    this.recorder = CallRecorder.of(mesh);
    this.hosts = new KnownHosts(mesh, recorder);
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    // the trace of the request this thread serves goes on, or a new one starts here; a caller's own
    // traceparent wins, and B3 headers the caller passed on (as Istio asks apps to) are the parent
    CallRecorder.Call call = request.header(TraceContext.TRACEPARENT) != null ? recorder.startUntraced() : startClient(request);
    Tracing.Span span = call.span().orElse(null);
    // the caller's headers and the mesh's, in one new request
    Headers.Builder added = null;
    if (span != null) {
      Headers.Builder traced = request.headers().newBuilder();
      Headers callers = request.headers();
      // most requests carry none of these: set (a scan and a removal) only the ones the caller sent
      span.context().forEachHeader((name, value) -> {
        if (callers.get(name) == null) {
          traced.add(name, value);
        } else if (!name.equals(TraceContext.TRACESTATE)) {
          traced.set(name, value);
        }
      });
      if (callers.get(TraceContext.B3) != null) {
        // one context in both B3 forms
        traced.set(TraceContext.B3, span.context().b3());
      }
      added = traced;
    }
    KnownHosts.Host dialled = hosts.get(request.url().host(), request.url().port(), request.isHttps() ? 443 : 80);
    Optional<DestinationService> destination = dialled.destination();
    boolean inMesh = destination.isPresent() ? !destination.get().meshExternal() : dialled.serviceName().endsWith(CLUSTER_LOCAL);
    if (request.header(PeerMetadata.HEADER) == null && inMesh) {
      // Istio's metadata exchange, with mesh services only: external hosts never see it
      added = added == null ? request.headers().newBuilder() : added;
      if (request.header(PeerMetadata.ID_HEADER) != null) {
        added.removeAll(PeerMetadata.ID_HEADER);
      }
      added.addAll(peerMetadata);
    }
    if (added != null) {
      request = request.newBuilder().headers(added.build()).build();
    }
    try {
      OkHttpRequestView view = new OkHttpRequestView(request);
      Response response = mesh.outbound().execute(view, new OkHttpTransport(chain, request, mirrorClient, tlsClients,
          clusterClients, plaintext), options(request));
      Optional<PeerMetadata> server = PeerMetadata.decode(response.header(PeerMetadata.HEADER));
      if (response.header(PeerMetadata.HEADER) != null) {
        // as a sidecar does, the exchange stays between the mesh's two ends
        response = response.newBuilder().removeHeader(PeerMetadata.HEADER).removeHeader(PeerMetadata.ID_HEADER).build();
      }
      try {
        record(view, response, server, destination, call);
        if (span != null) {
          span.http(request.method(), request.url().toString(), response.code(),
              Optional.ofNullable(response.header(OutboundPipeline.FLAGS_HEADER)).orElse("-"));
        }
      } catch (RuntimeException e) {
        // telemetry must never cost the caller its response
        org.slf4j.LoggerFactory.getLogger(MeshInterceptor.class).warn("recording {} failed", request.url(), e);
      }
      return response;
    } catch (MeshException e) {
      // OkHttp callers handle IOException; the message says what the mesh was waiting for
      MeshCallException failure = new MeshCallException(request.method() + " " + request.url() + ": " + e.getMessage(), e);
      call.failed(failure);
      throw failure;
    } catch (IOException | RuntimeException e) {
      call.failed(e);
      throw e;
    } finally {
      call.end();
    }
  }

  /** A client span, child of the B3 context the caller's request carries if any, else of the request this thread serves. */
  private CallRecorder.Call startClient(Request request) {
    String name = request.url().host() + ":" + request.url().port() + "/*";
    java.util.Optional<TraceContext> passedOn = TraceContext.fromHeaders(request::header);
    if (passedOn.isEmpty()) {
      return recorder.startClient(name);
    }
    try (TraceContext.Scope scope = TraceContext.attach(passedOn.get())) {
      return recorder.startClient(name);
    }
  }

  /**
   * Istio's request metrics as the source reports them, for calls the mesh routed (a host it
   * knows); the server's SPIFFE ID comes from the handshake when the call went over mTLS.
   */
  private void record(OkHttpRequestView request, Response response, Optional<PeerMetadata> peer,
      Optional<DestinationService> destination, CallRecorder.Call call) {
    int defaultPort = request.scheme().equals("https") ? 443 : 80;
    KnownHosts.Host now = hosts.get(request.host(), request.port(), defaultPort);
    if (!now.routed()) {
      return;
    }
    Optional<SpiffeId> server = Optional.ofNullable(response.handshake())
        .flatMap(h -> h.peerCertificates().stream().findFirst())
        .filter(X509Certificate.class::isInstance)
        .flatMap(c -> SpiffeId.of((X509Certificate) c));
    String flags = Optional.ofNullable(response.header(OutboundPipeline.FLAGS_HEADER)).orElse("-");
    Request sent = response.request();
    long requestBytes = sent.body() == null ? 0 : contentLength(sent);
    long responseBytes = response.body().contentLength();
    CallRecorder.Response outcome = CallRecorder.Response.of("http", response.code(), flags, requestBytes, responseBytes);
    // looked up again if the call began before its cluster arrived: the config that routed it is in force now
    Optional<DestinationService> service = destination.isPresent() ? destination : now.destination();
    if (service.isPresent()) {
      call.sent(service.get(), server, peer, outcome);
    } else {
      call.sent(now.serviceName(), server, peer, outcome);
    }
    if (call.logging()) {
      call.log(new CallRecorder.LogLine(protocol(response), response.code(), flags, Math.max(0, requestBytes),
          Math.max(0, responseBytes), response.networkResponse() == null ? null
              : response.networkResponse().request().url().host() + ":" + response.networkResponse().request().url().port(),
          null, null,
          name -> switch (name) {
            case ":method" -> sent.method();
            case ":path" -> sent.url().encodedPath() + (sent.url().encodedQuery() == null ? "" : "?" + sent.url().encodedQuery());
            case ":authority" -> sent.url().host() + ":" + sent.url().port();
            default -> sent.header(name);
          },
          response::header));
    }
  }

  /** As Envoy prints it: HTTP/1.1, HTTP/2. */
  private static String protocol(Response response) {
    return switch (response.protocol()) {
      case HTTP_2, H2_PRIOR_KNOWLEDGE -> "HTTP/2";
      case HTTP_1_0 -> "HTTP/1.0";
      default -> "HTTP/1.1";
    };
  }

  /** The request body's size; -1 when OkHttp does not know it (a streamed body). */
  private static long contentLength(Request request) {
    try {
      return request.body().contentLength();
    } catch (IOException e) {
      return -1;
    }
  }

  /** The caller's hints: a request header asks for the explanation; Retrofit methods carry @MeshCall. */
  private static CallOptions options(Request request) {
    boolean explain = request.header(OutboundPipeline.EXPLAIN_HEADER) != null;
    Optional<Boolean> idempotent = Optional.empty();
    Optional<Duration> timeout = Optional.empty();
    Invocation invocation = request.tag(Invocation.class);
    MeshCall hints = invocation == null ? null : invocation.method().getAnnotation(MeshCall.class);
    if (hints != null) {
      if (hints.idempotent() != MeshCall.Idempotence.DEFAULT) {
        idempotent = Optional.of(hints.idempotent() == MeshCall.Idempotence.TRUE);
      }
      if (!hints.timeout().isEmpty()) {
        timeout = Optional.of(Durations.parse(hints.timeout(), invocation.method().toString()));
      }
    }
    CallOptions tagged = request.tag(CallOptions.class);
    if (tagged != null) {
      return tagged;
    }
    if (!explain && idempotent.isEmpty() && timeout.isEmpty()) {
      return CallOptions.DEFAULTS;
    }
    return new CallOptions(idempotent, timeout, explain);
  }
}
