package dev.inmesh.gateway.internal;

import dev.inmesh.Mesh;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.spi.RequestHeaderChanges;
import java.time.Clock;
import dev.inmesh.internal.model.DestinationService;
import dev.inmesh.internal.outbound.OutboundPipeline;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.tracing.TraceContext;
import java.security.cert.X509Certificate;
import java.util.Objects;
import dev.inmesh.spi.CallOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.internal.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a gateway request into the mesh: on a bounded worker pool, as a call of the gateway's mesh
 * OkHttp client (mesh-http-client) tagged with the server's route configuration, so that
 * mesh-core's outbound pipeline routes it (routes, faults, retries, timeouts, balancing, outlier
 * detection, mesh mTLS) exactly as it routes any mesh client's call. The request's headers are
 * sanitized on the way in, as an edge Envoy does: hop-by-hop headers, the mesh's own headers and
 * a client certificate header an outside client could forge are dropped; {@code x-forwarded-for},
 * {@code x-forwarded-proto} and {@code x-request-id} are set.
 */
public final class Forwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Forwarder.class);
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "host", "content-length", "http2-settings", "expect");
  private static final String FLAGS = OutboundPipeline.FLAGS_HEADER;
  private static final String EXPLAIN = OutboundPipeline.EXPLAIN_HEADER;
  private static final String UNKNOWN = "unknown";
  private static final CallOptions GATEWAY_CALL = new CallOptions(Optional.empty(), Optional.empty(), true);

  /** A request as the event loop copied it, with the peer it came from. */
  record Incoming(String method, String uri, List<Map.Entry<String, String>> headers, byte[] body, String scheme,
      int gatewayPort, String routeConfigName, String clientAddress, String protocol, PeerInfo peer) {
    String header(String name) {
      for (Map.Entry<String, String> header : headers) {
        if (header.getKey().equalsIgnoreCase(name)) {
          return header.getValue();
        }
      }
      return null;
    }

    /** This request with its target and Host header as {@link RequestTarget} normalized them. */
    Incoming normalized(RequestTarget.Normalized target) {
      List<Map.Entry<String, String>> normalized = new ArrayList<>(headers.size());
      for (Map.Entry<String, String> header : headers) {
        normalized.add(header.getKey().equalsIgnoreCase("host") ? Map.entry("host", target.authority()) : header);
      }
      return new Incoming(method, target.uri(), normalized, body, scheme, gatewayPort, routeConfigName, clientAddress,
          protocol, peer);
    }
  }

  /**
   * What the client is answered; {@code bufferedBytes} of the {@link BufferBudget} stay taken until
   * the answer has been written.
   */
  record Answer(int status, List<Map.Entry<String, String>> headers, byte[] body, long bufferedBytes) {
    Answer(int status, List<Map.Entry<String, String>> headers, byte[] body) {
      this(status, headers, body, 0);
    }

    static Answer local(int status, String body) {
      return new Answer(status, List.of(Map.entry("content-type", "text/plain")), RequestHandler.text(body));
    }

    static Answer flagged(int status, String body, String flag) {
      return new Answer(status, List.of(Map.entry("content-type", "text/plain"), Map.entry(FLAGS, flag)),
          RequestHandler.text(body));
    }
  }

  private final Mesh mesh;
  private final CallRecorder recorder;
  private final OkHttpClient client;
  private final ThreadPoolExecutor workers;
  private final int maxResponseBytes;
  private final BufferBudget budget;
  private final RequestCheck check;

  /** @param client an OkHttp client on the gateway's Mesh ({@code MeshHttp.client(mesh)}) */
  public Forwarder(Mesh mesh, OkHttpClient client, int workers, int queued, int maxResponseBytes, long maxBufferedBytes) {
    this.mesh = mesh;
    this.recorder = CallRecorder.of(mesh);
    this.check = new RequestCheck(() -> mesh.snapshot().resources().listeners(), Clock.systemUTC());
    this.client = client;
    this.maxResponseBytes = maxResponseBytes;
    this.budget = new BufferBudget(maxBufferedBytes);
    this.workers = new ThreadPoolExecutor(workers, workers, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queued), r -> {
      Thread thread = new Thread(r, "inmesh-gateway-worker");
      thread.setDaemon(true);
      return thread;
    });
    this.workers.allowCoreThreadTimeOut(true);
  }

  /** Queues the request; false when the pool and its queue are full (the caller answers 503). */
  boolean submit(Incoming request, Consumer<Answer> done) {
    try {
      workers.execute(() -> done.accept(forwardSafely(request)));
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  /** A failure of the gateway's own is answered 500, never left to the client's timeout. */
  private Answer forwardSafely(Incoming request) {
    try {
      return forward(request);
    } catch (RuntimeException | Error e) {
      log.error("gateway call {} {} failed in the gateway", request.method(), request.uri(), e);
      return Answer.local(500, "Internal Server Error");
    }
  }

  Answer forward(Incoming received) {
    CallRecorder.Call call = start(received);
    Incoming incoming;
    try {
      // one path and host for the policies, the route and the upstream
      incoming = received.normalized(RequestTarget.normalize(received.header("host"), received.uri()));
    } catch (IllegalArgumentException e) {
      Answer answer = Answer.local(400, "Bad Request: " + e.getMessage());
      record(received, call, 400, "-", Optional.empty(), Optional.empty(), answer.body().length, null);
      call.end();
      return answer;
    }
    try {
      RequestCheck.Verdict verdict = check.check(incoming);
      if (verdict instanceof RequestCheck.Refuse refuse) {
        Answer answer = refuse.answer();
        record(incoming, call, answer.status(), answer.status() == 403 ? "RBAC" : answer.status() == 503 ? "NR" : "-", Optional.empty(), Optional.empty(),
            answer.body().length, null);
        return answer;
      }
      return send(incoming, ((RequestCheck.Pass) verdict).headerChanges(), call);
    } finally {
      call.end();
    }
  }

  /** The gateway's span: a child of the trace the client sent, else the start of a new one, as Istio's gateway does. */
  private CallRecorder.Call start(Incoming incoming) {
    String name = hostOf(Objects.requireNonNullElse(incoming.header("host"), "")) + ":" + incoming.gatewayPort() + "/*";
    Optional<TraceContext> caller = TraceContext.fromHeaders(incoming::header);
    if (caller.isEmpty()) {
      return recorder.startClient(name);
    }
    try (TraceContext.Scope scope = TraceContext.attach(caller.get())) {
      return recorder.startClient(name);
    }
  }

  private Answer send(Incoming incoming, RequestHeaderChanges changes, CallRecorder.Call call) {
    Request request;
    try {
      request = request(incoming, changes, call);
    } catch (IllegalArgumentException e) {
      Answer answer = Answer.local(400, "Bad Request: " + e.getMessage());
      record(incoming, call, answer.status(), "-", Optional.empty(), Optional.empty(), answer.body().length, null);
      return answer;
    }
    try (Response response = client.newCall(request).execute()) {
      List<Map.Entry<String, String>> headers = new ArrayList<>();
      response.headers().forEach(h -> {
        String name = h.getFirst().toLowerCase(Locale.ROOT);
        // the routing explanation and response flags are the mesh's own: an outside client sees neither
        if (!HOP_BY_HOP.contains(name) && !name.equals(EXPLAIN) && !name.equals(FLAGS)) {
          headers.add(Map.entry(h.getFirst(), h.getSecond()));
        }
      });
      Body read = read(response);
      byte[] body = read == Body.TOO_LARGE ? null : read.bytes();
      if (read == Body.OVERLOADED) {
        Answer answer = Answer.flagged(503, "overloaded", "UO");
        record(incoming, call, 503, "UO", clusterOf(response.header(EXPLAIN)), Optional.empty(), answer.body().length, null);
        return answer;
      }
      String flags = Optional.ofNullable(response.header(FLAGS)).orElse("-");
      Optional<String> cluster = clusterOf(response.header(EXPLAIN));
      Optional<SpiffeId> server = Optional.ofNullable(response.handshake())
          .flatMap(h -> h.peerCertificates().stream().findFirst())
          .filter(X509Certificate.class::isInstance)
          .flatMap(c -> SpiffeId.of((X509Certificate) c));
      String upstream = response.networkResponse() == null ? null
          : response.networkResponse().request().url().host() + ":" + response.networkResponse().request().url().port();
      if (body == null) {
        Answer answer = Answer.flagged(502, "upstream response body is larger than " + maxResponseBytes + " bytes", "UMSDR");
        record(incoming, call, 502, "UMSDR", cluster, server, answer.body().length, upstream);
        return answer;
      }
      record(incoming, call, response.code(), flags, cluster, server, body.length, upstream);
      return new Answer(response.code(), headers, body, read.reserved());
    } catch (IOException | RuntimeException e) {
      // the pipeline answers upstream failures itself; what escapes it is the mesh not being ready
      log.debug("gateway call {} {} failed", incoming.method(), incoming.uri(), e);
      call.failed(e);
      // Envoy's words: what failed (addresses, certificate names) is the mesh's to know, not the client's
      Answer answer = Answer.flagged(503, "upstream connect error or disconnect/reset before headers. reset reason: "
          + "connection failure", "UF");
      record(incoming, call, 503, "UF", Optional.empty(), Optional.empty(), answer.body().length, null);
      return answer;
    }
  }

  /**
   * Istio's {@code reporter="source"} metrics with the gateway as the source and the service of the
   * cluster the route chose as the destination ({@code unknown} when none was), and the access log line.
   */
  private void record(Incoming incoming, CallRecorder.Call call, int status, String flags, Optional<String> cluster,
      Optional<SpiffeId> server, long responseBytes, String upstream) {
    try {
      CallRecorder.Response outcome = CallRecorder.Response.of("http", status, flags, incoming.body().length, responseBytes);
      Optional<DestinationService> service = cluster.flatMap(mesh.snapshot()::cluster).flatMap(c -> c.config().service());
      if (service.isPresent()) {
        call.sent(service.get(), server, Optional.empty(), outcome);
      } else {
        call.sent(UNKNOWN, server, Optional.empty(), outcome);
      }
      call.span().ifPresent(span -> span.http(incoming.method(), incoming.scheme() + "://"
          + Objects.requireNonNullElse(incoming.header("host"), "") + incoming.uri(), status, flags));
      if (call.logging()) {
        call.log(new CallRecorder.LogLine(incoming.protocol(), status, flags, incoming.body().length, responseBytes, upstream,
            incoming.clientAddress(), null,
            name -> switch (name) {
              case ":method" -> incoming.method();
              case ":path" -> incoming.uri();
              case ":authority" -> incoming.header("host");
              default -> incoming.header(name);
            },
            name -> null));
      }
    } catch (RuntimeException e) {
      // telemetry never costs the client its answer
      log.warn("recording the gateway call {} {} failed", incoming.method(), incoming.uri(), e);
    }
  }

  /** The cluster the pipeline's explanation names ({@code cluster=<name>;}), if the route chose one. */
  static Optional<String> clusterOf(String explanation) {
    if (explanation == null) {
      return Optional.empty();
    }
    int at = explanation.indexOf("cluster=");
    if (at < 0) {
      return Optional.empty();
    }
    int end = explanation.indexOf(';', at);
    String cluster = explanation.substring(at + "cluster=".length(), end < 0 ? explanation.length() : end).strip();
    return cluster.isEmpty() || cluster.equals("-") || cluster.equals("none") ? Optional.empty() : Optional.of(cluster);
  }

  /** A response body read whole, and the bytes of the budget it holds. */
  private record Body(byte[] bytes, long reserved) {
    static final Body TOO_LARGE = new Body(new byte[0], 0);
    static final Body OVERLOADED = new Body(new byte[0], 0);
  }

  /** Reads the body, taking its bytes from the budget as they come: {@link Body#TOO_LARGE} past the bound. */
  private Body read(Response response) throws IOException {
    long taken = 0;
    try (InputStream in = response.body().byteStream()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] chunk = new byte[16 * 1024];
      for (int n = in.read(chunk); n >= 0; n = in.read(chunk)) {
        if (out.size() + n > maxResponseBytes) {
          budget.release(taken);
          return Body.TOO_LARGE;
        }
        // the copy toByteArray makes counts too
        if (!budget.reserve(2L * n)) {
          budget.release(taken);
          return Body.OVERLOADED;
        }
        taken += 2L * n;
        out.write(chunk, 0, n);
      }
      byte[] body = out.toByteArray();
      budget.release(taken - body.length);
      return new Body(body, body.length);
    } catch (IOException | RuntimeException e) {
      budget.release(taken);
      throw e;
    }
  }

  /** The budget of request and response bodies held at once, which the ports' handlers share. */
  BufferBudget budget() {
    return budget;
  }

  /** The mesh call for a request whose target and Host header {@link RequestTarget} normalized. */
  private static Request request(Incoming incoming, RequestHeaderChanges changes, CallRecorder.Call call) {
    Request.Builder builder = new Request.Builder().url(url(incoming));
    String forwardedFor = null;
    for (Map.Entry<String, String> header : incoming.headers()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(name) || name.startsWith("x-http2-") || name.startsWith("x-inmesh-")
          || name.startsWith("x-envoy-") || name.equals("x-forwarded-client-cert") || name.equals("x-forwarded-proto")
          || changes.touches(name)) {
        continue;
      }
      if (name.equals("x-request-id")) {
        // an edge Envoy makes its own: a client's id would steer the mesh's logs and traces
        continue;
      }
      if (name.equals("x-forwarded-for")) {
        forwardedFor = header.getValue();
        continue;
      }
      builder.addHeader(header.getKey(), header.getValue());
    }
    builder.header("x-forwarded-for", forwardedFor == null ? incoming.clientAddress() : forwardedFor + ", " + incoming.clientAddress());
    builder.header("x-forwarded-proto", incoming.scheme());
    // what authentication asks for: the verified token taken off (touches() above), its payload or claims set
    changes.set().forEach(builder::header);
    // the gateway's span is the parent of what the mesh sends (the mesh client then starts none of its own)
    call.span().ifPresent(span -> span.context().headers().forEach(builder::header));
    builder.header("x-request-id", UUID.randomUUID().toString());
    RequestBody body = null;
    if (incoming.body().length > 0 || HttpMethod.requiresRequestBody(incoming.method())) {
      if (!HttpMethod.permitsRequestBody(incoming.method())) {
        throw new IllegalArgumentException(incoming.method() + " carries no body");
      }
      String type = incoming.header("content-type");
      body = RequestBody.create(incoming.body(), type == null ? null : MediaType.parse(type));
    }
    builder.method(incoming.method(), body);
    // the explanation names the cluster the route chose, which the metrics' destination comes from; it never reaches the client
    builder.tag(CallOptions.class, GATEWAY_CALL.withGatewayRoutes(incoming.routeConfigName()));
    return builder.build();
  }

  /**
   * The URL of the mesh call, built from the normalized parts; OkHttp must take them as they are,
   * else the request is refused, so that the path the policies saw is the path sent.
   */
  static HttpUrl url(Incoming incoming) {
    String uri = incoming.uri();
    int mark = uri.indexOf('?');
    String path = mark < 0 ? uri : uri.substring(0, mark);
    String query = mark < 0 ? null : uri.substring(mark + 1);
    String host = hostOf(incoming.header("host"));
    HttpUrl url;
    try {
      url = new HttpUrl.Builder().scheme(incoming.scheme())
          .host(host.startsWith("[") ? host.substring(1, host.length() - 1) : host)
          .port(incoming.gatewayPort()).encodedPath(path).encodedQuery(query).build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot make a URL of host '" + host + "' and path '" + path + "'");
    }
    if (!url.encodedPath().equals(path) || !java.util.Objects.equals(url.encodedQuery(), query)) {
      throw new IllegalArgumentException("the request target is not in its canonical form");
    }
    return url;
  }

  /** The host of a Host header: without its port; an IPv6 literal keeps its brackets. */
  static String hostOf(String authority) {
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      return end < 0 ? authority : authority.substring(0, end + 1);
    }
    int colon = authority.lastIndexOf(':');
    return colon < 0 ? authority : authority.substring(0, colon);
  }

  @Override
  public void close() {
    workers.shutdownNow();
  }

  static String utf8(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
