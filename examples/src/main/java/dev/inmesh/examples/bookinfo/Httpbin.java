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
 * on port 8000: {@code GET /get}, {@code /headers} and {@code /ip} echo the request (or its origin)
 * as JSON, {@code POST /post} echoes it with its body, {@code /status/<code>} answers that status
 * (one of several, {@code /status/200,503}, picked at random), {@code /delay/<seconds>} answers after
 * that many seconds (at most 10). Each instance keeps an access log of the last
 * {@value #LOG_SIZE} requests it answered, as the task's {@code kubectl logs} shows it.
 */
final class Httpbin {
  static final int PORT = 8000;
  static final int LOG_SIZE = 1000;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_DELAY_SECONDS = 10;

  /** One line of the access log: the method, path and Host header received, and the status answered. */
  record Logged(String method, String path, String host, int status) {}

  private final java.util.Deque<Logged> log = new java.util.ArrayDeque<>();

  /** The requests this instance answered, oldest first. */
  synchronized List<Logged> log() {
    return List.copyOf(log);
  }

  void handle(HttpExchange exchange) throws IOException {
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readAllBytes();
    }
    try {
      answer(exchange, body);
    } finally {
      synchronized (this) {
        if (log.size() == LOG_SIZE) {
          log.removeFirst();
        }
        log.addLast(new Logged(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
            exchange.getRequestHeaders().getFirst("Host"), exchange.getResponseCode()));
      }
    }
  }

  private static void answer(HttpExchange exchange, byte[] body) throws IOException {
    String path = exchange.getRequestURI().getPath();
    String method = exchange.getRequestMethod();
    if (path.equals("/get") || path.equals("/headers") || path.equals("/ip")) {
      if (!method.equals("GET")) {
        notAllowed(exchange, "GET");
      } else if (path.equals("/get")) {
        Http.send(exchange, 200, "application/json", JSON.writeValueAsString(echo(exchange)));
      } else if (path.equals("/headers")) {
        Http.send(exchange, 200, "application/json", JSON.writeValueAsString(Map.of("headers", headers(exchange))));
      } else {
        Http.send(exchange, 200, "application/json", JSON.writeValueAsString(Map.of("origin", origin(exchange))));
      }
    } else if (path.equals("/post")) {
      if (!method.equals("POST")) {
        notAllowed(exchange, "POST");
        return;
      }
      Map<String, Object> answer = echo(exchange);
      answer.put("data", new String(body, java.nio.charset.StandardCharsets.UTF_8));
      Http.send(exchange, 200, "application/json", JSON.writeValueAsString(answer));
    } else if (path.startsWith("/status/")) {
      status(exchange, path.substring("/status/".length()));
    } else if (path.startsWith("/delay/")) {
      delay(exchange, path.substring("/delay/".length()));
    } else {
      Http.send(exchange, 404, "text/html", "<h1>Not Found</h1>");
    }
  }

  private static void notAllowed(HttpExchange exchange, String allowed) throws IOException {
    exchange.getResponseHeaders().set("Allow", allowed + ", OPTIONS");
    Http.send(exchange, 405, "text/html", "<h1>Method Not Allowed</h1>");
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
    answer.put("origin", origin(exchange));
    String host = exchange.getRequestHeaders().getFirst("Host");
    answer.put("url", "http://" + (host == null ? "httpbin:" + PORT : host) + exchange.getRequestURI());
    return answer;
  }

  private static String origin(HttpExchange exchange) {
    return exchange.getRemoteAddress().getAddress().getHostAddress();
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
