package dev.inmesh.internal.security.authz;

import dev.inmesh.internal.security.jwt.VerifiedJwt;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * What authorization looks at in one inbound request; each transport adapts its own request.
 *
 * @param principal the SPIFFE URI of the peer's certificate; empty for plaintext
 * @param sourceIp the peer's address on the connection; Inmesh reads no PROXY protocol and trusts no
 *     {@code x-forwarded-for}, so Envoy's source, direct remote and remote IPs are all this one
 * @param destinationIp the local address the request arrived on
 * @param destinationPort the local port the request arrived on
 * @param method the HTTP method, {@code :method}
 * @param host the {@code :authority} (or {@code Host}) as received, port included when sent
 * @param path the {@code :path} as received, query included
 * @param headers a header's value by lower-case name, several values joined with {@code ,} as
 *     Envoy joins them; a function so that the transport needs not copy its header map per request
 * @param sni the TLS server name the client asked for; empty for plaintext or when it sent none
 * @param jwt the end user's token that end-user authentication verified; empty when it found none
 */
public record AuthzRequest(
    Optional<String> principal,
    InetAddress sourceIp,
    InetAddress destinationIp,
    int destinationPort,
    String method,
    String host,
    String path,
    Function<String, Optional<String>> headers,
    Optional<String> sni,
    Optional<VerifiedJwt> jwt) {

  public AuthzRequest {
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(sourceIp, "sourceIp");
    Objects.requireNonNull(destinationIp, "destinationIp");
    if (destinationPort < 0 || destinationPort > 65535) {
      throw new IllegalArgumentException("destinationPort must be between 0 and 65535, got " + destinationPort);
    }
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(sni, "sni");
    Objects.requireNonNull(jwt, "jwt");
  }

  /** A request without an end-user token. */
  public AuthzRequest(Optional<String> principal, InetAddress sourceIp, InetAddress destinationIp, int destinationPort,
      String method, String host, String path, Function<String, Optional<String>> headers, Optional<String> sni) {
    this(principal, sourceIp, destinationIp, destinationPort, method, host, path, headers, sni, Optional.empty());
  }

  /**
   * A header by name, with the pseudo-headers Envoy's matchers may name; {@code host} and
   * {@code :authority} are one header, as in Envoy's header map.
   */
  public Optional<String> header(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    switch (lower) {
      case ":method":
        return Optional.of(method);
      case ":authority":
      case "host":
        return Optional.of(host);
      case ":path":
        return Optional.of(path);
      default:
        return Objects.requireNonNull(headers.apply(lower), "headers returned null for " + lower);
    }
  }

  /** The path without query and fragment, which Envoy's {@code url_path} matches. */
  public String urlPath() {
    int end = path.length();
    int query = path.indexOf('?');
    if (query >= 0) {
      end = query;
    }
    int fragment = path.indexOf('#');
    if (fragment >= 0 && fragment < end) {
      end = fragment;
    }
    return path.substring(0, end);
  }
}
