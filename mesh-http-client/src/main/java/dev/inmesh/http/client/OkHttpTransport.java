package dev.inmesh.http.client;

import dev.inmesh.internal.model.Memo;
import dev.inmesh.internal.outbound.OutboundPipeline;
import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.Transport;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * Sends the pipeline's attempts: each attempt becomes the original request pointed at one
 * endpoint, with the caller's authority in the Host header and the route's header changes, sent
 * as a call of its own on the cluster's client ({@link ClusterClients}), whose pool, connect
 * timeout and connection limits are the cluster's. A plaintext attempt's per-try timeout becomes
 * its connect, read and write timeouts.
 */
final class OkHttpTransport implements Transport<Response> {
  private static final MediaType TEXT = MediaType.get("text/plain; charset=utf-8");
  /** Endpoint URLs by scheme, address and port; forgotten past 4,096, as endpoints come and go over a process's life. */
  private static final Memo<EndpointKey, HttpUrl> ENDPOINT_URLS = new Memo<>(4096, key -> new HttpUrl.Builder()
      .scheme(key.tls() ? "https" : "http").host(key.address()).port(key.port()).build());

  private record EndpointKey(boolean tls, String address, int port) {}

  /**
   * Endpoint URLs with a path, for requests without query, fragment or user info (most calls, and
   * their paths recur); forgotten past 4,096. Paths longer than {@value #MEMO_PATH_CHARS} characters
   * are not kept, so the memo holds at most about 4 MB whatever paths callers send.
   */
  private static final Memo<EndpointPath, HttpUrl> ENDPOINT_PATHS = new Memo<>(4096, key -> ENDPOINT_URLS.apply(key.endpoint())
      .newBuilder().encodedPath(key.path()).build());

  private record EndpointPath(EndpointKey endpoint, String path) {}

  private static final int MEMO_PATH_CHARS = 256;

  private final Interceptor.Chain chain;
  private final Request original;
  private final OkHttpClient mirrorClient;
  private final MeshTlsClients tlsClients;
  private final ClusterClients clusterClients;
  private final OkHttpClient plaintext;

  /**
   * @param original the caller's request as the mesh sends it (with its trace context)
   * @param plaintext the caller's client without its application interceptors, which the
   *     cluster's plaintext client is made from
   */
  OkHttpTransport(Interceptor.Chain chain, Request original, OkHttpClient mirrorClient, MeshTlsClients tlsClients,
      ClusterClients clusterClients, OkHttpClient plaintext) {
    this.chain = chain;
    this.original = original;
    this.mirrorClient = mirrorClient;
    this.tlsClients = tlsClients;
    this.clusterClients = clusterClients;
    this.plaintext = plaintext;
  }

  @Override
  public Response passThrough() throws IOException {
    return chain.proceed(original);
  }

  @Override
  public Response send(Attempt attempt) throws IOException {
    if (attempt.tls().isPresent()) {
      return sendTls(attempt);
    }
    Request.Builder request = toEndpoint(attempt);
    if (!attempt.timeout().isZero()) {
      int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, attempt.timeout().toMillis()));
      request.tag(ClusterClients.AttemptTimeout.class, new ClusterClients.AttemptTimeout(millis));
    }
    Call call = clusterClients.client(attempt.cluster(), attempt.tls(), plaintext).newCall(request.build());
    return execute(call, attempt);
  }

  /**
   * An application interceptor cannot change the chain's TLS settings, so an mTLS attempt is a call
   * of its own on the cluster's mTLS client (made once from the mesh's mTLS client for those
   * identities), whose connections stay in the cluster's pool. The
   * call is made on that client as it is, never on a per-call copy: OkHttp reuses a connection only
   * for an equal address, and a copied client's address (its certificate pinner) is never equal,
   * which cost a new handshake per call. A per-try timeout bounds the whole call; a caller's call
   * that is already cancelled sends nothing.
   */
  private Response sendTls(Attempt attempt) throws IOException {
    // an originating client changes with its SNI and when its files change: the cluster's client follows it
    OkHttpClient tls = tlsClients.client(attempt.tls().get(), authorityHost(attempt.authority()));
    Call call = clusterClients.client(attempt.cluster(), attempt.tls(), tls).newCall(toEndpoint(attempt).build());
    if (!attempt.timeout().isZero()) {
      call.timeout().timeout(Math.max(1, attempt.timeout().toMillis()), TimeUnit.MILLISECONDS);
    }
    return execute(call, attempt);
  }

  /**
   * Runs an attempt's call; a caller's call that is already cancelled sends nothing. OkHttp's call
   * timeout ends a call with {@code InterruptedIOException("timeout")}: that is the per-try timeout
   * passing, as the pipeline's contract names it (504 UT), unless the caller cancelled or the thread
   * was interrupted, which the pipeline must see as they are.
   */
  private Response execute(Call call, Attempt attempt) throws IOException {
    if (chain.call().isCanceled()) {
      call.cancel();
    }
    try {
      return call.execute();
    } catch (java.net.SocketTimeoutException e) {
      throw e;
    } catch (java.io.InterruptedIOException e) {
      if (attempt.timeout().isZero() || chain.call().isCanceled() || Thread.currentThread().isInterrupted()) {
        throw e;
      }
      java.net.SocketTimeoutException timeout = new java.net.SocketTimeoutException(
          "no answer within the per-try timeout of " + attempt.timeout().toMillis() + " ms");
      timeout.initCause(e);
      throw timeout;
    }
  }

  private Request.Builder toEndpoint(Attempt attempt) {
    // the endpoint's scheme, host and port, canonicalized once (OkHttp's host check is costly per call)
    EndpointKey endpoint = new EndpointKey(attempt.tls().isPresent(), attempt.endpoint().address(), attempt.endpoint().port());
    HttpUrl source = original.url();
    HttpUrl url;
    if (source.query() == null && source.fragment() == null && source.username().isEmpty() && source.password().isEmpty()
        && attempt.path().length() <= MEMO_PATH_CHARS) {
      url = ENDPOINT_PATHS.apply(new EndpointPath(endpoint, attempt.path()));
    } else {
      url = ENDPOINT_URLS.apply(endpoint).newBuilder()
          .encodedPath(attempt.path())
          .encodedQuery(source.encodedQuery())
          .encodedFragment(source.encodedFragment())
          .encodedUsername(source.encodedUsername())
          .encodedPassword(source.encodedPassword())
          .build();
    }
    Request.Builder request = original.newBuilder().url(url).header("Host", attempt.authority());
    // loops, not forEach: a capturing lambda per list per call
    for (HeaderMutations mutations : attempt.headerMutations()) {
      if (mutations.isEmpty()) {
        continue;
      }
      for (String name : mutations.remove()) {
        request.removeHeader(name);
      }
      for (Map.Entry<String, String> header : mutations.set()) {
        request.header(header.getKey(), header.getValue());
      }
      for (Map.Entry<String, String> header : mutations.add()) {
        request.addHeader(header.getKey(), header.getValue());
      }
    }
    return request;
  }

  @Override
  public int status(Response response) {
    return response.code();
  }

  @Override
  public void discard(Response response) {
    response.close();
  }

  @Override
  public Response synthesize(int status, String body, Map<String, String> headers) {
    Response.Builder response = new Response.Builder()
        .request(original)
        .protocol(Protocol.HTTP_1_1)
        .code(status)
        .message(reason(status))
        .body(ResponseBody.create(body, TEXT));
    headers.forEach(response::header);
    return response.build();
  }

  @Override
  public Response finish(Response response, HeaderMutations responseHeaders, Optional<String> explanation) {
    if (responseHeaders.isEmpty() && explanation.isEmpty()) {
      return response.newBuilder().request(original).build();
    }
    Response.Builder builder = response.newBuilder().request(original);
    responseHeaders.remove().forEach(builder::removeHeader);
    responseHeaders.set().forEach(e -> builder.header(e.getKey(), e.getValue()));
    responseHeaders.add().forEach(e -> builder.addHeader(e.getKey(), e.getValue()));
    explanation.ifPresent(text -> builder.header(OutboundPipeline.EXPLAIN_HEADER, text));
    return builder.build();
  }

  @Override
  public boolean replayable() {
    return original.body() == null || !(original.body().isOneShot() || original.body().isDuplex());
  }

  /**
   * Sends the copy and waits for its answer on the pipeline's mirror thread: a call of its own, not
   * one enqueued on the caller's dispatcher, whose slots a slow mirror would otherwise hold.
   */
  @Override
  public void mirror(Attempt attempt) {
    Request copy = toEndpoint(attempt).build();
    try {
      OkHttpClient client = attempt.tls().isPresent()
          ? tlsClients.client(attempt.tls().get(), authorityHost(attempt.authority())) : mirrorClient;
      Call call = client.newCall(copy);
      call.timeout().timeout(Math.max(1, attempt.timeout().toMillis()), TimeUnit.MILLISECONDS);
      call.execute().close();
      // read nothing: the answer only ends the copy
    } catch (IOException e) {
      // a mirror's failure is nobody's business
    }
  }

  /** The host of an authority ({@code host[:port]}, IPv6 in brackets), as auto SNI sends it. */
  static String authorityHost(String authority) {
    if (authority.startsWith("[")) {
      int close = authority.indexOf(']');
      return close > 0 ? authority.substring(1, close) : authority;
    }
    int colon = authority.lastIndexOf(':');
    return colon >= 0 && authority.indexOf(':') == colon ? authority.substring(0, colon) : authority;
  }

  private static String reason(int status) {
    return switch (status) {
      case 301 -> "Moved Permanently";
      case 302 -> "Found";
      case 404 -> "Not Found";
      case 503 -> "Service Unavailable";
      case 504 -> "Gateway Timeout";
      default -> "";
    };
  }
}
