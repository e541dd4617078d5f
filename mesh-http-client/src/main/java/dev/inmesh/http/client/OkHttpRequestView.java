package dev.inmesh.http.client;

import dev.inmesh.spi.RequestView;
import java.util.Optional;
import okhttp3.Request;

/** An OkHttp request as routing sees it. */
final class OkHttpRequestView implements RequestView {
  private final Request request;
  /** Routing reads the path once per route it tries; OkHttp makes a new string each time it is asked. */
  private String path;

  OkHttpRequestView(Request request) {
    this.request = request;
  }

  @Override
  public String method() {
    return request.method();
  }

  @Override
  public String host() {
    return request.url().host();
  }

  @Override
  public int port() {
    return request.url().port();
  }

  @Override
  public String scheme() {
    return request.url().scheme();
  }

  @Override
  public String path() {
    String known = path;
    if (known == null) {
      known = request.url().encodedPath();
      path = known;
    }
    return known;
  }

  @Override
  public Optional<String> header(String name) {
    return Optional.ofNullable(request.header(name));
  }

  @Override
  public Optional<String> queryParameter(String name) {
    return Optional.ofNullable(request.url().queryParameter(name));
  }

  @Override
  public Optional<String> rawQuery() {
    return Optional.ofNullable(request.url().encodedQuery());
  }
}
