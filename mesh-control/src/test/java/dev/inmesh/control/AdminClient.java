package dev.inmesh.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;

/** Talks to mesh-control's HTTP API over real HTTP, as an operator's tools would, with a bearer token when given one. */
final class AdminClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;
  private final Optional<String> token;

  AdminClient(int port, Optional<String> token) {
    this.base = "http://127.0.0.1:" + port;
    this.token = token;
  }

  /** A client holding the admin credential that {@code control} made at its start. */
  static AdminClient admin(MeshControl control) {
    return new AdminClient(control.httpPort(), Optional.of(control.adminCredential().orElseThrow().token()));
  }

  record Reply(int status, JsonNode body) {}

  Reply get(String path) {
    return send(request(path).GET());
  }

  Reply post(String path, String body) {
    return post(path, "application/yaml", body);
  }

  Reply post(String path, String contentType, String body) {
    HttpRequest.Builder request = request(path).POST(HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    return send(request);
  }

  Reply delete(String path) {
    return send(request(path).DELETE());
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path));
    token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
    return request;
  }

  private Reply send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      String type = response.headers().firstValue("Content-Type").orElse("");
      JsonNode body = type.startsWith("application/json") ? JSON.readTree(response.body()) : JSON.getNodeFactory().textNode(response.body());
      return new Reply(response.statusCode(), body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
