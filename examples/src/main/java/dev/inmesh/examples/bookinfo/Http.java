package dev.inmesh.examples.bookinfo;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** The little HTTP plumbing the Bookinfo services share. */
final class Http {
  private Http() {}

  static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** The product id at the end of {@code /details/0}, {@code /reviews/0}; 0 when it is not a number. */
  static int id(String path) {
    try {
      return Integer.parseInt(path.substring(path.lastIndexOf('/') + 1));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
