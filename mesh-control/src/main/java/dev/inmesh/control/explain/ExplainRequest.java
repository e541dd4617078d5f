package dev.inmesh.control.explain;

import dev.inmesh.spi.RequestView;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A request to explain, as a client would send it: {@code GET http://reviews:9080/api?x=1} with
 * headers, or a gRPC call {@code grpc://greeter:9000/helloworld.Greeter/SayHello} (POST, with
 * {@code content-type: application/grpc}, as gRPC sends it). It is the {@link RequestView} that
 * the client's own route matching reads.
 */
public record ExplainRequest(String method, String scheme, String host, int port, String path,
    Map<String, String> headers, Map<String, String> query) implements RequestView {

  public ExplainRequest {
    headers = Map.copyOf(headers);
    query = Map.copyOf(query);
  }

  /**
   * @param method the HTTP method, or empty for the default (GET, POST for gRPC)
   * @param headers {@code name: value} lines
   */
  public static ExplainRequest parse(String method, String url, Iterable<String> headers) {
    URI uri;
    try {
      uri = URI.create(url.contains("://") ? url : "http://" + url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a URL: '" + url + "': " + e.getMessage());
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("the URL names no host: '" + url + "'");
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    boolean grpc = scheme.equals("grpc");
    if (!grpc && !scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("scheme must be http, https or grpc, got '" + scheme + "'");
    }
    if (grpc && uri.getPort() < 0) {
      throw new IllegalArgumentException("a gRPC target needs a port: grpc://greeter:9000/pkg.Service/Method");
    }
    Map<String, String> headerMap = new LinkedHashMap<>();
    if (grpc) {
      headerMap.put("content-type", "application/grpc");
    }
    for (String header : headers) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("a header is name:value, got '" + header + "'");
      }
      headerMap.put(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), header.substring(colon + 1).trim());
    }
    Map<String, String> query = new LinkedHashMap<>();
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        query.putIfAbsent(name, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    String realScheme = grpc ? "http" : scheme;
    int port = uri.getPort() >= 0 ? uri.getPort() : realScheme.equals("https") ? 443 : 80;
    String chosen = method == null || method.isEmpty() ? (grpc ? "POST" : "GET") : method.toUpperCase(Locale.ROOT);
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    return new ExplainRequest(chosen, realScheme, uri.getHost(), port, path, headerMap, query);
  }

  @Override
  public Optional<String> header(String name) {
    return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
  }

  @Override
  public Optional<String> queryParameter(String name) {
    return Optional.ofNullable(query.get(name));
  }

  @Override
  public String toString() {
    return method + " " + scheme + "://" + host + ":" + port + path;
  }
}
