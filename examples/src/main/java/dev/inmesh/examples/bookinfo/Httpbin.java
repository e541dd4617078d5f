package dev.inmesh.examples.bookinfo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The endpoints of httpbin that Istio's tasks call, as Istio's {@code samples/httpbin} serves them
 * on port 8000: {@code GET /get} and {@code /headers} echo the request as JSON, {@code /status/<code>}
 * answers that status (one of several, {@code /status/200,503}, picked at random),
 * {@code /delay/<seconds>} answers after that many seconds (at most 10).
 */
final class Httpbin {
  static final int PORT = 8000;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_DELAY_SECONDS = 10;

  private Httpbin() {}

  static void handle(HttpExchange exchange) throws IOException {
    try (InputStream body = exchange.getRequestBody()) {
      body.readAllBytes();
    }
    String path = exchange.getRequestURI().getPath();
    if (path.equals("/get")) {
      Http.send(exchange, 200, "application/json", JSON.writeValueAsString(echo(exchange)));
    } else if (path.equals("/headers")) {
      Http.send(exchange, 200, "application/json", JSON.writeValueAsString(Map.of("headers", headers(exchange))));
    } else if (path.startsWith("/status/")) {
      status(exchange, path.substring("/status/".length()));
    } else if (path.startsWith("/delay/")) {
      delay(exchange, path.substring("/delay/".length()));
    } else {
      Http.send(exchange, 404, "text/html", "<h1>Not Found</h1>");
    }
  }

  private static void status(HttpExchange exchange, String codes) throws IOException {
    List<String> choices = List.of(codes.split(","));
    String picked = choices.get(ThreadLocalRandom.current().nextInt(choices.size())).trim();
    int code;
    try {
      code = Integer.parseInt(picked);
    } catch (NumberFormatException e) {
      Http.send(exchange, 400, "text/plain", "Invalid status code");
      return;
    }
    if (code < 100 || code > 599) {
      Http.send(exchange, 400, "text/plain", "Invalid status code");
      return;
    }
    if (code == 418) {
      Http.send(exchange, 418, "text/plain", "I'm a teapot!");
      return;
    }
    // a status with no body, as httpbin answers it
    exchange.sendResponseHeaders(code, code == 204 || code == 304 || code < 200 ? -1 : 0);
    exchange.close();
  }

  private static void delay(HttpExchange exchange, String seconds) throws IOException {
    double wait;
    try {
      wait = Math.min(MAX_DELAY_SECONDS, Math.max(0, Double.parseDouble(seconds)));
    } catch (NumberFormatException e) {
      Http.send(exchange, 400, "text/plain", "Invalid delay");
      return;
    }
    try {
      Thread.sleep((long) (wait * 1000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exchange.close();
      return;
    }
    Http.send(exchange, 200, "application/json", JSON.writeValueAsString(echo(exchange)));
  }

  private static Map<String, Object> echo(HttpExchange exchange) {
    Map<String, Object> answer = new TreeMap<>();
    answer.put("args", args(exchange.getRequestURI().getRawQuery()));
    answer.put("headers", headers(exchange));
    answer.put("origin", exchange.getRemoteAddress().getAddress().getHostAddress());
    String host = exchange.getRequestHeaders().getFirst("Host");
    answer.put("url", "http://" + (host == null ? "httpbin:" + PORT : host) + exchange.getRequestURI());
    return answer;
  }

  /** The request's headers as httpbin prints them: Title-Case names, repeated values joined by commas. */
  private static Map<String, String> headers(HttpExchange exchange) {
    Map<String, String> headers = new TreeMap<>();
    exchange.getRequestHeaders().forEach((name, values) -> headers.put(titleCase(name), String.join(",", values)));
    return headers;
  }

  private static Map<String, String> args(String query) {
    Map<String, String> args = new TreeMap<>();
    if (query == null || query.isEmpty()) {
      return args;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String name = java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), java.nio.charset.StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8);
      args.merge(name, value, (a, b) -> a + "," + b);
    }
    return args;
  }

  private static String titleCase(String name) {
    StringBuilder out = new StringBuilder(name.length());
    boolean upper = true;
    for (char c : name.toLowerCase(Locale.ROOT).toCharArray()) {
      out.append(upper ? Character.toUpperCase(c) : c);
      upper = c == '-';
    }
    return out.toString();
  }
}
