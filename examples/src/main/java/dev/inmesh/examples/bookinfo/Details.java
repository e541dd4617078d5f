package dev.inmesh.examples.bookinfo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** Bookinfo's details: {@code GET /details/<id>} answers the book's details as JSON. */
final class Details {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Details() {}

  static void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    if (!path.startsWith("/details/")) {
      Http.send(exchange, 404, "text/plain", "not found");
      return;
    }
    Map<String, Object> book = new LinkedHashMap<>();
    book.put("id", Http.id(path));
    book.put("author", "William Shakespeare");
    book.put("year", 1595);
    book.put("type", "paperback");
    book.put("pages", 200);
    book.put("publisher", "PublisherA");
    book.put("language", "English");
    book.put("ISBN-10", "1234567890");
    book.put("ISBN-13", "123-1234567890");
    Http.send(exchange, 200, "application/json", JSON.writeValueAsString(book));
  }
}
