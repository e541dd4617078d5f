package dev.inmesh.spi;

import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.security.authz.AuthzRequest;
import dev.inmesh.internal.security.jwt.VerifiedJwt;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The parts of an HTTP request that authorization and metrics look at, as each server adapter
 * reads them; {@link #toAuthzRequest} makes them what Envoy's RBAC filter would see.
 *
 * @param method the request method
 * @param host the {@code Host} header as received (port included when sent); empty when absent
 * @param path the raw (not decoded) path with the raw query, as {@code :path}
 * @param headerValues every value of a header by lower-case name, one entry per header line;
 *     empty when absent
 */
public record RequestHead(String method, String host, String path, Function<String, List<String>> headerValues) {
  public RequestHead {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(headerValues, "headerValues");
  }

  /** {@code rawPath} and {@code rawQuery} as {@code :path}: the query after a {@code ?} when there is one. */
  public static String pathWithQuery(String rawPath, String rawQuery) {
    String path = rawPath == null || rawPath.isEmpty() ? "/" : rawPath;
    return rawQuery == null ? path : path + "?" + rawQuery;
  }

  /** What the RBAC engine sees of this request arriving on {@code port} from {@code peer}, without an end-user token. */
  public AuthzRequest toAuthzRequest(PeerInfo peer, int port) {
    return toAuthzRequest(peer, port, Optional.empty());
  }

  /** As {@link #toAuthzRequest(PeerInfo, int)}, with the end-user token that authentication verified. */
  public AuthzRequest toAuthzRequest(PeerInfo peer, int port, Optional<VerifiedJwt> jwt) {
    return new AuthzRequest(
        peer.principal().map(Object::toString),
        peer.source().getAddress(),
        peer.destination().getAddress(),
        port,
        method,
        host,
        path,
        this::header,
        peer.sni(),
        jwt);
  }

  /**
   * This request as the filters after end-user authentication see it, with {@code changes} made: in
   * Envoy, {@code jwt_authn} removes and sets its headers before RBAC runs, so a policy on a header
   * that authentication writes never matches a copy the caller forged.
   */
  public RequestHead withHeaderChanges(RequestHeaderChanges changes) {
    if (changes.isEmpty()) {
      return this;
    }
    return new RequestHead(method, host, path, name -> changes.apply(name, headerValues.apply(name)));
  }

  /** A header's values joined with {@code ,}, as Envoy joins repeated headers. */
  public Optional<String> header(String name) {
    List<String> values = headerValues.apply(name.toLowerCase(Locale.ROOT));
    if (values == null || values.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(values.size() == 1 ? values.get(0) : String.join(",", values));
  }
}
