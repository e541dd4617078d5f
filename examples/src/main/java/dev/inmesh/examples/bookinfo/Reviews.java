package dev.inmesh.examples.bookinfo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.sun.net.httpserver.HttpExchange;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Bookinfo's reviews, {@code GET /reviews/<id>}: v1 shows no stars, v2 black stars and v3 red ones,
 * both read from ratings over gRPC, passing the {@code end-user} header on so that routes can match
 * it. When ratings fails, the review says so instead of failing the page, as Istio's reviews does.
 */
final class Reviews {
  static final String UNAVAILABLE = "Ratings service is currently unavailable";
  private static final Metadata.Key<String> END_USER = Metadata.Key.of("end-user", Metadata.ASCII_STRING_MARSHALLER);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long RATINGS_DEADLINE_MILLIS = 2_500;

  private final String version;
  private final Channel ratings;

  /** @param ratings a channel to {@code ratings:9080}; unused by v1 */
  Reviews(String version, Channel ratings) {
    this.version = version;
    this.ratings = ratings;
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
        Struct answer = ratings(productId, exchange.getRequestHeaders().getFirst("end-user"));
        answer.getFieldsOrDefault("ratings", Value.getDefaultInstance()).getStructValue().getFieldsMap()
            .forEach((reviewer, stars) -> ratingOf.put(reviewer, (int) stars.getNumberValue()));
      } catch (StatusRuntimeException e) {
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

  private Struct ratings(int productId, String endUser) {
    Metadata headers = new Metadata();
    if (endUser != null) {
      headers.put(END_USER, endUser);
    }
    Channel channel = ClientInterceptors.intercept(ratings, MetadataUtils.newAttachHeadersInterceptor(headers));
    return ClientCalls.blockingUnaryCall(channel, Ratings.GET_RATINGS,
        CallOptions.DEFAULT.withDeadlineAfter(RATINGS_DEADLINE_MILLIS, TimeUnit.MILLISECONDS), Ratings.request(productId));
  }
}
