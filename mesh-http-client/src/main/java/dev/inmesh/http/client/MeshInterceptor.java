package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import dev.inmesh.MeshException;
import dev.inmesh.outbound.CallOptions;
import dev.inmesh.outbound.OutboundPipeline;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
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

  MeshInterceptor(Mesh mesh, OkHttpClient mirrorClient) {
    this.mesh = mesh;
    this.mirrorClient = mirrorClient;
    this.tlsClients = new MeshTlsClients(mesh, mirrorClient);
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    try {
      return mesh.outbound().execute(new OkHttpRequestView(request), new OkHttpTransport(chain, mirrorClient, tlsClients),
          options(request));
    } catch (MeshException e) {
      // OkHttp callers handle IOException; the message says what the mesh was waiting for
      throw new MeshCallException(request.method() + " " + request.url() + ": " + e.getMessage(), e);
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
    return new CallOptions(idempotent, timeout, explain);
  }
}
