package dev.inmesh.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** mesh-control's HTTP API as meshctl calls it: JSON answers, errors that name the URL. */
final class ServerClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String base;
  private final java.util.Optional<String> token;
  private final HttpClient http;

  /**
   * @param token the bearer token sent with every call, when there is one
   * @param certificateAuthority PEM roots that an {@code https} server's certificate must chain to;
   *     the JVM's default trust store when empty
   */
  ServerClient(String base, java.util.Optional<String> token, java.util.Optional<String> certificateAuthority) {
    this.base = base;
    this.token = token;
    if (token.isPresent() && base.startsWith("http://") && !loopback(base)) {
      throw new Meshctl.UsageException("refusing to send a bearer token over plain http to " + base
          + "; mesh-control serves its API beyond loopback over https");
    }
    HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    certificateAuthority.ifPresent(pem -> builder.sslContext(trusting(pem)));
    this.http = builder.build();
  }

  /** Whether the URL names localhost or a loopback address literally; no name is looked up. */
  static boolean loopback(String url) {
    try {
      String host = URI.create(url).getHost();
      if (host == null) {
        return false;
      }
      String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
      return bare.equalsIgnoreCase("localhost") || bare.equals("::1") || bare.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static javax.net.ssl.SSLContext trusting(String pem) {
    try {
      java.security.KeyStore roots = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
      roots.load(null, null);
      int i = 0;
      for (var certificate : java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificates(new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        roots.setCertificateEntry("root-" + i++, certificate);
      }
      if (i == 0) {
        throw new Meshctl.UsageException("the credential's certificateAuthority holds no PEM certificate");
      }
      javax.net.ssl.TrustManagerFactory trust =
          javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      trust.init(roots);
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (java.security.GeneralSecurityException | IOException e) {
      throw new Meshctl.UsageException("the credential's certificateAuthority cannot be used: " + e.getMessage());
    }
  }

  /** The server could not be reached at all: exit code 3. */
  static final class UnreachableException extends RuntimeException {
    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The server answered with an error; the message is the server's own. */
  static final class RefusedException extends RuntimeException {
    final int status;
    final JsonNode body;

    RefusedException(int status, String message, JsonNode body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  record Reply(int status, JsonNode body) {}

  JsonNode get(String path) {
    return ok(send(HttpRequest.newBuilder(uri(path)).GET()));
  }

  JsonNode postJson(String path, Object body) {
    try {
      return ok(send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Posts YAML and returns the reply whatever its status: apply and delete show a 400's errors themselves. */
  Reply postYaml(String path, String yaml) {
    return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/yaml")
        .POST(HttpRequest.BodyPublishers.ofString(yaml, StandardCharsets.UTF_8)));
  }

  Reply delete(String path) {
    return send(HttpRequest.newBuilder(uri(path)).DELETE());
  }

  private URI uri(String path) {
    try {
      return URI.create(base + path);
    } catch (IllegalArgumentException e) {
      throw new Meshctl.UsageException("--server " + base + " is not a URL: " + e.getMessage());
    }
  }

  private Reply send(HttpRequest.Builder request) {
    token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
    HttpRequest built = request.timeout(Duration.ofSeconds(30)).build();
    HttpResponse<String> response;
    try {
      response = http.send(built, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new UnreachableException("cannot reach mesh-control at " + base + " (" + describe(e)
          + "); is it running? Set --server or MESHCTL_SERVER", e);
    } catch (IOException e) {
      throw new UnreachableException("cannot talk to mesh-control at " + base + ": " + describe(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnreachableException("interrupted while calling " + base, e);
    }
    JsonNode body;
    try {
      body = JSON.readTree(response.body());
    } catch (IOException e) {
      body = JSON.getNodeFactory().textNode(response.body());
    }
    return new Reply(response.statusCode(), body == null ? JSON.nullNode() : body);
  }

  private static JsonNode ok(Reply reply) {
    if (reply.status() >= 400) {
      String error = reply.body().path("error").asText(reply.body().toString());
      throw new RefusedException(reply.status(), error, reply.body());
    }
    return reply.body();
  }

  private static String describe(Exception e) {
    return e.getMessage() == null || e.getMessage().isEmpty() ? e.getClass().getSimpleName() : e.getMessage();
  }
}
