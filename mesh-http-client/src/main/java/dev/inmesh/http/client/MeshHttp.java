package dev.inmesh.http.client;

import dev.inmesh.Mesh;
import java.util.List;
import okhttp3.OkHttpClient;
import retrofit2.Converter;
import retrofit2.Retrofit;

/**
 * The front door for HTTP clients on the mesh.
 *
 * <pre>{@code
 * OkHttpClient client = MeshHttp.client(mesh);
 * client.newCall(new Request.Builder().url("http://reviews:9080/reviews/1").build()).execute();
 *
 * Reviews reviews = MeshHttp.create(mesh, Reviews.class, ScalarsConverterFactory.create());
 * }</pre>
 */
public final class MeshHttp {
  private MeshHttp() {}

  /** A new OkHttpClient on the mesh. */
  public static OkHttpClient client(Mesh mesh) {
    return decorate(new OkHttpClient.Builder(), mesh).build();
  }

  /**
   * Adds the mesh to a builder the caller configured. The mesh interceptor goes last among the
   * application interceptors, so the caller's run once per call and network interceptors once per
   * attempt. OkHttp's own retry on connection failure is turned off: the mesh decides retries.
   */
  public static OkHttpClient.Builder decorate(OkHttpClient.Builder builder, Mesh mesh) {
    OkHttpClient mirrors = builder.build();
    return builder.retryOnConnectionFailure(false).addInterceptor(new MeshInterceptor(mesh, mirrors));
  }

  /** An annotated Retrofit interface as a mesh client, on a new mesh OkHttpClient. */
  public static <T> T create(Mesh mesh, Class<T> api, Converter.Factory... converters) {
    return create(client(mesh), api, converters);
  }

  /** An annotated Retrofit interface as a mesh client, on a client from {@link #client} or {@link #decorate}. */
  public static <T> T create(OkHttpClient meshClient, Class<T> api, Converter.Factory... converters) {
    MeshService service = api.getAnnotation(MeshService.class);
    if (service == null) {
      throw new IllegalArgumentException(api.getName() + " needs @MeshService(\"<service>\") to be a mesh client");
    }
    Retrofit.Builder retrofit = new Retrofit.Builder()
        .baseUrl(service.scheme() + "://" + service.value() + ":" + service.port() + "/")
        .client(meshClient);
    List.of(converters).forEach(retrofit::addConverterFactory);
    return retrofit.build().create(api);
  }
}
