package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import java.nio.file.Path;
import java.util.Map;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import retrofit2.converter.scalars.ScalarsConverterFactory;
import retrofit2.http.GET;
import retrofit2.http.Header;

/** OkHttp and Retrofit calls to http://reviews:9080 follow Istio routing served by mesh-control. */
class MeshHttpRoutingIT {
  private static final String URL = "http://reviews:9080/reviews/1";

  @TempDir
  Path configDir;
  HttpMesh mesh;
  OkHttpClient client;

  @BeforeEach
  void start() throws Exception {
    mesh = new HttpMesh(configDir);
    mesh.backend("v1");
    mesh.backend("v2");
    mesh.backend("v3");
    mesh.awaitWorkloads(3);
    mesh.write("reviews-dr.yaml", HttpMesh.DESTINATION_RULE);
    client = MeshHttp.client(mesh.client());
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  void aWeightedSplitHoldsWithinFivePointsOverTwoThousandCalls() {
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: 80
            - destination: {host: reviews, subset: v2}
              weight: 20
        """);
    HttpMesh.awaitAnswer(client, URL, "v2", Map.of());

    Map<String, Integer> counts = HttpMesh.split(client, URL, 2000, Map.of());

    assertThat(counts.keySet()).containsOnly("v1", "v2");
    assertThat(counts.get("v1") / 20.0).isBetween(75.0, 85.0);
  }

  @Test
  void headerMatchRegexPathAndRewriteAllWork() throws Exception {
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - match:
            - headers:
                end-user:
                  exact: jason
            route:
            - destination: {host: reviews, subset: v2}
          - match:
            - uri:
                regex: "/api/v[0-9]+/reviews/.*"
            rewrite:
              uri: /reviews/
            route:
            - destination: {host: reviews, subset: v3}
          - match:
            - uri:
                prefix: /legacy/
            rewrite:
              uri: /reviews/
            route:
            - destination: {host: reviews, subset: v3}
          - route:
            - destination: {host: reviews, subset: v1}
        """);
    HttpMesh.awaitAnswer(client, URL, "v2", Map.of("end-user", "jason"));

    assertThat(HttpMesh.split(client, URL, 50, Map.of("end-user", "jason"))).containsOnly(Map.entry("v2", 50));
    assertThat(HttpMesh.split(client, URL, 50, Map.of("end-user", "bob"))).containsOnly(Map.entry("v1", 50));
    assertThat(body("http://reviews:9080/api/v2/reviews/7")).isEqualTo("v3 /reviews/");
    assertThat(body("http://reviews:9080/legacy/7")).isEqualTo("v3 /reviews/7");
    assertThat(body("http://reviews:9080/api/vX/reviews/7")).isEqualTo("v1 /api/vX/reviews/7");
  }

  @Test
  void callsToHostsOutsideTheMeshPassThroughUntouched() throws Exception {
    mesh.write("reviews-vs.yaml", "");
    try (MockWebServer outside = new MockWebServer()) {
      outside.enqueue(new MockResponse.Builder().code(200).body("outside").build());
      outside.start(0);

      assertThat(body(outside.url("/x").toString())).isEqualTo("outside");
      assertThat(outside.takeRequest().getHeaders().get("Host")).isEqualTo(outside.getHostName() + ":" + outside.getPort());
    }
  }

  @Test
  void theExplainHeaderSaysWhatProducedTheResponse() throws Exception {
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - name: everyone-to-v2
            route:
            - destination: {host: reviews, subset: v2}
        """);
    HttpMesh.awaitAnswer(client, URL, "v2", Map.of());

    try (Response response = client.newCall(new Request.Builder().url(URL).header("x-inmesh-explain", "1").build()).execute()) {
      String explanation = response.header("x-inmesh-explain");
      int v2Port = mesh.backends.get(1).port();
      assertThat(explanation)
          .contains("listener=reviews:9080")
          .contains("route=everyone-to-v2")
          .contains("cluster=outbound|9080|v2|reviews.default.svc.cluster.local")
          .contains("subset=v2")
          .contains("attempts=127.0.0.1:" + v2Port + "=200")
          .contains("fault=none");
      assertThat(response.request().url().host()).isEqualTo("reviews");
    }
  }

  @MeshService(value = "reviews", port = 9080)
  interface Reviews {
    @GET("reviews/1")
    retrofit2.Call<String> reviews(@Header("end-user") String user);
  }

  @Test
  void aRetrofitInterfaceWithMeshServiceIsRoutedLikeThePlainClient() throws Exception {
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - match:
            - headers:
                end-user: {exact: jason}
            route:
            - destination: {host: reviews, subset: v2}
          - route:
            - destination: {host: reviews, subset: v3}
        """);
    Mesh meshClient = mesh.client();
    Reviews reviews = MeshHttp.create(meshClient, Reviews.class, ScalarsConverterFactory.create());
    HttpMesh.await(() -> call(reviews, "jason").startsWith("v2"), java.time.Duration.ofSeconds(15), "the route");

    assertThat(call(reviews, "jason")).isEqualTo("v2 /reviews/1");
    assertThat(call(reviews, "bob")).isEqualTo("v3 /reviews/1");
  }

  private static String call(Reviews reviews, String user) {
    try {
      retrofit2.Response<String> response = reviews.reviews(user).execute();
      return response.isSuccessful() ? response.body() : Integer.toString(response.code());
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }

  private String body(String url) throws Exception {
    try (Response response = client.newCall(new Request.Builder().url(url).build()).execute()) {
      return response.body().string();
    }
  }
}
