package dev.inmesh.ca.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsExchange;
import dev.inmesh.ca.CaException;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.ca.IssuedCertificate;
import dev.inmesh.ca.JoinToken;
import dev.inmesh.ca.proto.IstioCertificateRequest;
import dev.inmesh.ca.proto.IstioCertificateResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON face of the CA, for curl: {@code POST /v1/certificate} is CreateCertificate in
 * protobuf's JSON mapping ({@code {"csr": "...", "validityDuration": 3600}} → {@code {"certChain":
 * [...]}}), and {@code POST /v1/join-tokens} creates a join token for an admin.
 */
public final class CaHttpsHandlers {
  private static final Logger log = LoggerFactory.getLogger(CaHttpsHandlers.class);
  private static final int MAX_BODY = 64 * 1024;

  private CaHttpsHandlers() {}

  public static HttpHandler certificate(CertificateAuthority ca) {
    return exchange -> respond(exchange, () -> {
      requirePost(exchange);
      IstioCertificateRequest.Builder request = IstioCertificateRequest.newBuilder();
      try {
        JsonFormat.parser().merge(body(exchange), request);
      } catch (InvalidProtocolBufferException e) {
        throw new HttpError(400, "BAD_REQUEST", "the body is not a CreateCertificate request: " + e.getMessage());
      }
      SessionHolder session = SessionHolder.of(exchange);
      try {
        IssuedCertificate issued = ca.sign(request.getCsr(), Duration.ofSeconds(request.getValidityDuration()),
            RequestCredentials.of(exchange.getRequestHeaders().getFirst("Authorization"), session.session()));
        return JsonFormat.printer().print(IstioCertificateResponse.newBuilder().addAllCertChain(issued.pemChain()));
      } catch (CaException e) {
        throw new HttpError(e.reason().kind().httpStatus(), e.reason().name(), e.getMessage());
      }
    });
  }

  /** Creates join tokens; answers 404 when the server has no admin token, 401 without the right one. */
  public static HttpHandler joinTokens(CertificateAuthority ca, Optional<String> adminToken) {
    return exchange -> respond(exchange, () -> {
      if (adminToken.isEmpty()) {
        throw new HttpError(404, "NOT_FOUND", "the admin API is disabled on this server (no admin token)");
      }
      requirePost(exchange);
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      if (authorization == null || !MessageDigest.isEqual(authorization.getBytes(StandardCharsets.UTF_8),
          ("Bearer " + adminToken.get()).getBytes(StandardCharsets.UTF_8))) {
        throw new HttpError(401, "UNAUTHENTICATED", "the admin API needs 'Authorization: Bearer <admin token>'");
      }
      Struct.Builder body = Struct.newBuilder();
      try {
        JsonFormat.parser().merge(body(exchange), body);
      } catch (InvalidProtocolBufferException e) {
        throw new HttpError(400, "BAD_REQUEST", "the body is not JSON: " + e.getMessage());
      }
      String namespace = string(body, "namespace");
      String serviceAccount = string(body, "serviceAccount");
      Value ttlValue = body.getFieldsOrDefault("ttlSeconds", Value.newBuilder().setNumberValue(3600).build());
      if (!ttlValue.hasNumberValue() || ttlValue.getNumberValue() != Math.rint(ttlValue.getNumberValue())) {
        throw new HttpError(400, "BAD_REQUEST", "ttlSeconds must be a whole number of seconds");
      }
      JoinToken token;
      try {
        token = ca.joinTokens().create(namespace, serviceAccount, Duration.ofSeconds((long) ttlValue.getNumberValue()));
      } catch (IllegalArgumentException e) {
        throw new HttpError(400, "BAD_REQUEST", e.getMessage());
      }
      log.info("created a join token for {} valid until {}", token.identity(), token.expiresAt());
      return "{\"token\": " + quote(token.value()) + ", \"identity\": " + quote(token.identity().toString())
          + ", \"expiresAt\": " + quote(token.expiresAt().toString()) + "}";
    });
  }

  private interface Body {
    String produce() throws IOException, HttpError;
  }

  private static final class HttpError extends Exception {
    final int status;
    final String reason;

    HttpError(int status, String reason, String message) {
      super(message, null, false, false);
      this.status = status;
      this.reason = reason;
    }
  }

  private record SessionHolder(javax.net.ssl.SSLSession session) {
    static SessionHolder of(HttpExchange exchange) {
      return new SessionHolder(exchange instanceof HttpsExchange https ? https.getSSLSession() : null);
    }
  }

  private static void respond(HttpExchange exchange, Body body) throws IOException {
    try {
      int status = 200;
      String json;
      try {
        json = body.produce();
      } catch (HttpError e) {
        status = e.status;
        json = "{\"code\": " + e.status + ", \"reason\": " + quote(e.reason) + ", \"message\": " + quote(e.getMessage()) + "}";
        if (status == 401) {
          exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        }
      } catch (RuntimeException e) {
        log.warn("request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
        status = 500;
        json = "{\"code\": 500, \"reason\": \"INTERNAL\", \"message\": " + quote(String.valueOf(e.getMessage())) + "}";
      }
      byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    } finally {
      exchange.close();
    }
  }

  private static void requirePost(HttpExchange exchange) throws HttpError {
    if (!exchange.getRequestMethod().equals("POST")) {
      exchange.getResponseHeaders().set("Allow", "POST");
      throw new HttpError(405, "METHOD_NOT_ALLOWED", exchange.getRequestMethod() + " is not allowed; use POST");
    }
  }

  private static String body(HttpExchange exchange) throws IOException, HttpError {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(MAX_BODY + 1);
      if (bytes.length > MAX_BODY) {
        throw new HttpError(413, "TOO_LARGE", "the body is larger than " + MAX_BODY + " bytes");
      }
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  private static String string(Struct.Builder body, String field) throws HttpError {
    Value value = body.getFieldsOrDefault(field, Value.getDefaultInstance());
    if (!value.hasStringValue()) {
      throw new HttpError(400, "BAD_REQUEST", "the field '" + field + "' (a string) is missing");
    }
    return value.getStringValue();
  }

  static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
