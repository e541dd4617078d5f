package dev.inmesh.spi;

import java.util.Optional;

/** The parts of an outbound request that routing looks at; each transport adapts its own request. */
public interface RequestView {
  String method();

  /** The host the caller dialled, without the port: {@code reviews}. */
  String host();

  /** The port the caller dialled (the scheme's default when the URL has none). */
  int port();

  String scheme();

  /** The path without the query string. */
  String path();

  /** The first value of a header, by lower-case name. */
  Optional<String> header(String name);

  /** The first value of a query parameter. */
  Optional<String> queryParameter(String name);

  /**
   * The query string as sent, without the {@code ?}; empty when the URL has none. Redirects keep
   * it, as Envoy's do. An adapter that cannot tell answers empty.
   */
  default Optional<String> rawQuery() {
    return Optional.empty();
  }
}
