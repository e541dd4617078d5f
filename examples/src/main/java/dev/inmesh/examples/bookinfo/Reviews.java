package dev.inmesh.examples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.client.MeshService;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import okhttp3.OkHttpClient;
import retrofit2.Call;
import retrofit2.Response;
import retrofit2.converter.jackson.JacksonConverterFactory;
import retrofit2.http.GET;
import retrofit2.http.Header;
import retrofit2.http.Path;

/**
 * Bookinfo's reviews, {@code GET /reviews/<id>}: v1 shows no stars, v2 black stars and v3 red ones,
 * both read from ratings with {@code GET /ratings/<id>} as Istio's reviews reads them, passing the
 * {@code end-user} header on so that routes can match it. When ratings fails, the review says so
 * instead of failing the page, as Istio's reviews does.
 */
final class Reviews {
  static final String UNAVAILABLE = "Ratings service is currently unavailable";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration RATINGS_TIMEOUT = Duration.ofMillis(2_500);

  @MeshService(value = "ratings", port = 9080)
  interface RatingsApi {
    @GET("ratings/{id}")
    Call<JsonNode> ratings(@Path("id") int id, @Header("end-user") String user);
  }

  private final String version;
  private final RatingsApi ratings;

  /** @param mesh the workload's mesh, through which v2 and v3 call ratings */
  Reviews(String version, Mesh mesh) {
    this.version = version;
    OkHttpClient client = MeshHttp.client(mesh).newBuilder().callTimeout(RATINGS_TIMEOUT).build();
    this.ratings = MeshHttp.create(client, RatingsApi.class, JacksonConverterFactory.create());
  }

  void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    if (!path.startsWith("/reviews/")) {
      Http.send(exchange, 404, "text/plain", "not found");
      return;
    }
    int productId = Http.id(path);
    Map<String, Object> ratingOf = new LinkedHashMap<>();
    String error = null;
    if (!version.equals("v1")) {
      try {
        Response<JsonNode> answer = ratings.ratings(productId, exchange.getRequestHeaders().getFirst("end-user")).execute();
        if (answer.isSuccessful() && answer.body() != null) {
          answer.body().path("ratings").fields().forEachRemaining(f -> ratingOf.put(f.getKey(), f.getValue().asInt()));
        } else {
          error = UNAVAILABLE;
        }
      } catch (IOException | RuntimeException e) {
        error = UNAVAILABLE;
      }
    }
    List<Map<String, Object>> reviews = new ArrayList<>();
    reviews.add(review("Reviewer1", "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
        ratingOf.get("Reviewer1"), error));
    reviews.add(review("Reviewer2", "Absolutely fun and entertaining. The play lacks thematic depth when compared to other"
        + " plays by Shakespeare.", ratingOf.get("Reviewer2"), error));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", Integer.toString(productId));
    body.put("podname", "reviews-" + version);
    body.put("version", version);
    body.put("reviews", reviews);
    Http.send(exchange, 200, "application/json", JSON.writeValueAsString(body));
  }

  private Map<String, Object> review(String reviewer, String text, Object stars, String error) {
    Map<String, Object> review = new LinkedHashMap<>();
    review.put("reviewer", reviewer);
    review.put("text", text);
    if (!version.equals("v1")) {
      Map<String, Object> rating = new LinkedHashMap<>();
      if (error != null) {
        rating.put("error", error);
      } else {
        rating.put("stars", stars);
        rating.put("color", version.equals("v2") ? "black" : "red");
      }
      review.put("rating", rating);
    }
    return review;
  }
}
