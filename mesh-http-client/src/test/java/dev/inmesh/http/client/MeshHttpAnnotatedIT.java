package dev.inmesh.http.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Mesh;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import retrofit2.Response;
import retrofit2.converter.scalars.ScalarsConverterFactory;
import retrofit2.http.Body;
import retrofit2.http.GET;
import retrofit2.http.POST;

/** Per-method hints on annotated clients, and a Mesh that serves a service registering itself. */
class MeshHttpAnnotatedIT {
  @TempDir
  Path configDir;
  HttpMesh mesh;
  HttpBackend flaky;
  HttpBackend steady;

  @MeshService(value = "reviews", port = 9080)
  interface Reviews {
    @POST("reviews")
    retrofit2.Call<String> create(@Body String review);

    @POST("reviews/rate")
    @MeshCall(idempotent = MeshCall.Idempotence.TRUE)
    retrofit2.Call<String> rate(@Body String rating);

    @GET("reviews/slow")
    @MeshCall(timeout = "300ms")
    retrofit2.Call<String> slow();
  }

  @BeforeEach
  void start() throws Exception {
    mesh = new HttpMesh(configDir);
    flaky = mesh.backend("v1");
    steady = mesh.backend("v1");
    mesh.awaitWorkloads(2);
    mesh.write("reviews-vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
        spec:
          hosts: [reviews]
          http:
          - retries:
              attempts: 2
              retryOn: 5xx
            route:
            - destination: {host: reviews}
        """);
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
  }

  @Test
  void aPostMarkedIdempotentIsRetriedAndAPlainPostIsNot() throws Exception {
    Reviews reviews = MeshHttp.create(mesh.client(), Reviews.class, ScalarsConverterFactory.create());
    HttpMesh.await(() -> code(reviews::slow) == 200, Duration.ofSeconds(10), "the route");
    flaky.behave(request -> new MockResponse.Builder().code(503).body("down").build());

    int plainFailures = 0;
    for (int i = 0; i < 40; i++) {
      plainFailures += code(() -> reviews.create("great")) == 503 ? 1 : 0;
      assertThat(code(() -> reviews.rate("5"))).as("idempotent POSTs are retried elsewhere").isEqualTo(200);
    }
    assertThat(plainFailures).as("plain POSTs that hit the failing endpoint are not retried").isPositive();
  }

  @Test
  void aMethodTimeoutReplacesTheRouteTimeout() throws Exception {
    Reviews reviews = MeshHttp.create(mesh.client(), Reviews.class, ScalarsConverterFactory.create());
    HttpMesh.await(() -> code(reviews::slow) == 200, Duration.ofSeconds(10), "the route");
    MockResponse slow = new MockResponse.Builder().code(200).body("v1 slow").headersDelay(2, TimeUnit.SECONDS).build();
    flaky.behave(request -> slow);
    steady.behave(request -> slow);

    long started = System.nanoTime();
    Response<String> response = reviews.slow().execute();
    long millis = (System.nanoTime() - started) / 1_000_000;

    assertThat(response.code()).isEqualTo(504);
    assertThat(response.errorBody().string()).isEqualTo("upstream request timeout");
    assertThat(millis).isBetween(250L, 1_500L);
  }

  @Test
  void aMeshThatServesAServiceRegistersItselfAndLeavesWhenClosed() throws Exception {
    Mesh serving = HttpMesh.withIdentity(Mesh.builder().controlServers(mesh.xdsAddress()), mesh.control, "default", "default")
        // the plain server behind it speaks no mesh mTLS, so its endpoint says so
        .service("ratings").label("version", "v7").label("security.istio.io/tlsMode", "disabled")
        .servePort("http", 9080, steady.port())
        .build();
    HttpMesh.await(() -> mesh.control.workloads().stream().anyMatch(w -> w.metadata().service().equals("ratings")),
        Duration.ofSeconds(10), "ratings to register");
    var ratings = mesh.control.workloads().stream().filter(w -> w.metadata().service().equals("ratings")).findFirst().orElseThrow();
    assertThat(ratings.metadata().labels()).containsEntry("version", "v7");
    assertThat(ratings.metadata().ports().get(0).targetPort()).isEqualTo(steady.port());

    okhttp3.OkHttpClient client = MeshHttp.client(mesh.client());
    HttpMesh.awaitAnswer(client, "http://ratings:9080/ratings/1", "v1", Map.of());

    serving.close();
    HttpMesh.await(() -> mesh.control.workloads().stream().noneMatch(w -> w.metadata().service().equals("ratings")),
        Duration.ofSeconds(10), "ratings to leave after the grace period");
  }

  interface Call {
    retrofit2.Call<String> make();
  }

  private static int code(Call call) {
    try {
      return call.make().execute().code();
    } catch (java.io.IOException e) {
      return -1;
    }
  }
}
