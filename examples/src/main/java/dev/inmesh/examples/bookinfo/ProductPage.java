package dev.inmesh.examples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import dev.inmesh.http.client.MeshService;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import okhttp3.OkHttpClient;
import retrofit2.Call;
import retrofit2.Response;
import retrofit2.converter.jackson.JacksonConverterFactory;
import retrofit2.http.GET;
import retrofit2.http.Header;
import retrofit2.http.Path;

/**
 * Bookinfo's product page: {@code GET /productpage} shows the book's details and reviews, read
 * through annotated Retrofit interfaces that Inmesh routes. Sign in with {@code /login?user=jason}
 * (or add {@code ?u=jason}); the user goes to details and reviews as the {@code end-user} header,
 * as Istio's productpage sends it. The page marks what it got in {@code data-} attributes, which
 * the tour reads.
 */
final class ProductPage {
  static final String DETAILS_ERROR = "Error fetching product details!";
  static final String REVIEWS_ERROR = "Sorry, product reviews are currently unavailable for this book.";

  @MeshService(value = "details", port = 9080)
  interface DetailsApi {
    @GET("details/{id}")
    Call<JsonNode> details(@Path("id") int id, @Header("end-user") String user);
  }

  @MeshService(value = "reviews", port = 9080)
  interface ReviewsApi {
    @GET("reviews/{id}")
    Call<JsonNode> reviews(@Path("id") int id, @Header("end-user") String user);
  }

  private final DetailsApi details;
  private final ReviewsApi reviews;

  ProductPage(Mesh mesh) {
    // Istio's productpage gives each call 3 s
    OkHttpClient client = MeshHttp.client(mesh).newBuilder().callTimeout(Duration.ofSeconds(3)).build();
    this.details = MeshHttp.create(client, DetailsApi.class, JacksonConverterFactory.create());
    this.reviews = MeshHttp.create(client, ReviewsApi.class, JacksonConverterFactory.create());
  }

  void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    switch (path) {
      case "/", "/productpage" -> page(exchange);
      case "/login" -> {
        String user = query(exchange, "user").orElse("");
        exchange.getResponseHeaders().add("Set-Cookie", "user=" + user + "; Path=/");
        exchange.getResponseHeaders().set("Location", "/productpage");
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
      }
      case "/logout" -> {
        exchange.getResponseHeaders().add("Set-Cookie", "user=; Path=/; Max-Age=0");
        exchange.getResponseHeaders().set("Location", "/productpage");
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
      }
      case "/health" -> Http.send(exchange, 200, "text/plain", "ok");
      default -> Http.send(exchange, 404, "text/plain", "not found");
    }
  }

  private void page(HttpExchange exchange) throws IOException {
    String user = query(exchange, "u").or(() -> cookie(exchange, "user")).filter(u -> !u.isEmpty()).orElse(null);
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Simple Bookstore App</title>")
        .append("<style>body{font-family:sans-serif;max-width:46em;margin:2em auto}.stars{font-size:1.3em}")
        .append("blockquote{border-left:4px solid #ddd;margin:1em 0;padding-left:1em}.error{color:#b00}</style></head><body>\n")
        .append("<h1>The Comedy of Errors</h1>\n")
        .append("<p>Summary: Wikipedia Summary: The Comedy of Errors is one of <b>William Shakespeare's</b> early plays.</p>\n");
    html.append(user == null
        ? "<p id=\"user\" data-user=\"\">Not signed in. <a href=\"/login?user=jason\">Sign in as jason</a></p>\n"
        : "<p id=\"user\" data-user=\"" + escape(user) + "\">Signed in as <b>" + escape(user)
            + "</b>. <a href=\"/logout\">Sign out</a></p>\n");
    details(html, user);
    reviews(html, user);
    html.append("</body></html>\n");
    Http.send(exchange, 200, "text/html", html.toString());
  }

  private void details(StringBuilder html, String user) {
    Optional<JsonNode> book = call(details.details(0, user));
    if (book.isEmpty()) {
      html.append("<div id=\"details\" data-status=\"error\"><h2>Book Details</h2><p class=\"error\">")
          .append(DETAILS_ERROR).append("</p></div>\n");
      return;
    }
    html.append("<div id=\"details\" data-status=\"ok\"><h2>Book Details</h2><dl>");
    for (String field : new String[] {"type", "pages", "publisher", "language", "ISBN-10", "ISBN-13"}) {
      html.append("<dt>").append(field).append("</dt><dd>").append(escape(book.get().path(field).asText())).append("</dd>");
    }
    html.append("</dl></div>\n");
  }

  private void reviews(StringBuilder html, String user) {
    Optional<JsonNode> answer = call(reviews.reviews(0, user));
    if (answer.isEmpty()) {
      html.append("<div id=\"reviews\" data-status=\"unavailable\" data-version=\"\"><h2>Book Reviews</h2><p class=\"error\">")
          .append(REVIEWS_ERROR).append("</p></div>\n");
      return;
    }
    String version = answer.get().path("version").asText();
    boolean ratingsFailed = false;
    StringBuilder items = new StringBuilder();
    for (JsonNode review : answer.get().path("reviews")) {
      items.append("<blockquote><p>").append(escape(review.path("text").asText())).append("</p><small>")
          .append(escape(review.path("reviewer").asText())).append("</small> ");
      JsonNode rating = review.path("rating");
      if (rating.has("error")) {
        ratingsFailed = true;
        items.append("<span class=\"error\">").append(escape(rating.path("error").asText())).append("</span>");
      } else if (rating.has("stars")) {
        int stars = rating.path("stars").asInt();
        items.append("<span class=\"stars\" style=\"color:").append(escape(rating.path("color").asText())).append("\">")
            .append("\u2605".repeat(stars)).append("\u2606".repeat(5 - stars)).append("</span>");
      }
      items.append("</blockquote>");
    }
    html.append("<div id=\"reviews\" data-status=\"ok\" data-version=\"").append(escape(version))
        .append("\" data-ratings=\"").append(version.equals("v1") ? "none" : ratingsFailed ? "unavailable" : "ok")
        .append("\"><h2>Book Reviews</h2>").append(items).append("<p><small>reviews-").append(escape(version))
        .append("</small></p></div>\n");
  }

  /** The body of a 2xx answer; empty for an error status, a timeout or a refused call. */
  private static Optional<JsonNode> call(Call<JsonNode> call) {
    try {
      Response<JsonNode> response = call.execute();
      return response.isSuccessful() ? Optional.ofNullable(response.body()) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> query(HttpExchange exchange, String name) {
    String query = exchange.getRequestURI().getRawQuery();
    if (query == null) {
      return Optional.empty();
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equals(name)) {
        return Optional.of(URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return Optional.empty();
  }

  private static Optional<String> cookie(HttpExchange exchange, String name) {
    String header = exchange.getRequestHeaders().getFirst("Cookie");
    if (header == null) {
      return Optional.empty();
    }
    for (String part : header.split(";")) {
      String[] pair = part.trim().split("=", 2);
      if (pair.length == 2 && pair[0].equals(name)) {
        return Optional.of(pair[1]);
      }
    }
    return Optional.empty();
  }

  private static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
