package dev.inmesh.internal.security.authz;

import dev.inmesh.internal.routing.StringMatcher;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Who sends a request: Envoy's RBAC {@code Principal}, the {@code from} and part of the {@code when} of Istio. */
public sealed interface Principal {
  boolean matches(AuthzRequest request);

  record Any() implements Principal {
    @Override
    public boolean matches(AuthzRequest request) {
      return true;
    }
  }

  record And(List<Principal> ids) implements Principal {
    public And {
      ids = nonEmpty(ids, "and");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      for (Principal id : ids) {
        if (!id.matches(request)) {
          return false;
        }
      }
      return true;
    }
  }

  record Or(List<Principal> ids) implements Principal {
    public Or {
      ids = nonEmpty(ids, "or");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      for (Principal id : ids) {
        if (id.matches(request)) {
          return true;
        }
      }
      return false;
    }
  }

  record Not(Principal id) implements Principal {
    public Not {
      Objects.requireNonNull(id, "id");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return !id.matches(request);
    }
  }

  /**
   * An mTLS peer. Istio writes principals, service accounts and namespaces here (a namespace as a
   * regex that finds {@code /ns/<ns>/} in the SPIFFE ID). A plaintext request never matches,
   * whatever the matcher accepts, as in Envoy.
   *
   * @param principalName the peer's SPIFFE ID; empty means any authenticated peer
   */
  record Authenticated(Optional<StringMatcher> principalName) implements Principal {
    public Authenticated {
      Objects.requireNonNull(principalName, "principalName");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return request.principal().isPresent()
          && principalName.map(m -> m.matches(request.principal().get())).orElse(true);
    }
  }

  /** Envoy's deprecated {@code source_ip}: the peer address. */
  record SourceIp(CidrRange range) implements Principal {
    public SourceIp {
      Objects.requireNonNull(range, "range");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return range.contains(request.sourceIp());
    }
  }

  /** Istio's {@code ipBlocks} and {@code source.ip}: the peer address. */
  record DirectRemoteIp(CidrRange range) implements Principal {
    public DirectRemoteIp {
      Objects.requireNonNull(range, "range");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return range.contains(request.sourceIp());
    }
  }

  /**
   * Istio's {@code remoteIpBlocks} and {@code remote.ip}: the original client. Inmesh trusts no
   * {@code x-forwarded-for} hops and reads no PROXY protocol, so that is the peer address, as in gRPC.
   */
  record RemoteIp(CidrRange range) implements Principal {
    public RemoteIp {
      Objects.requireNonNull(range, "range");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return range.contains(request.sourceIp());
    }
  }

  /** Istio's {@code request.headers[...]} condition. */
  record Header(HeaderMatch header) implements Principal {
    public Header {
      Objects.requireNonNull(header, "header");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return header.matches(request);
    }
  }

  /** The path without its query. */
  record UrlPath(StringMatcher path) implements Principal {
    public UrlPath {
      Objects.requireNonNull(path, "path");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return path.matches(request.urlPath());
    }
  }

  /**
   * Envoy's metadata matcher on the {@code envoy.filters.http.jwt_authn} filter: a claim of the
   * verified end-user token at {@code path} ({@code [payload, iss]}, {@code [payload, a, b]}), which is
   * how Istio writes {@code requestPrincipals} and {@code request.auth.*}. A request without a
   * verified token never matches, so that {@code invert} too needs a token, as in Envoy.
   */
  record JwtClaim(List<String> path, ValueMatch value, boolean invert) implements Principal {
    public JwtClaim {
      path = List.copyOf(path);
      if (path.isEmpty()) {
        throw new IllegalArgumentException("a JWT claim matcher needs a path");
      }
      Objects.requireNonNull(value, "value");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      if (request.jwt().isEmpty()) {
        // Envoy's metadata matcher with invert still sees no metadata: an absent value matches only when inverted
        return invert;
      }
      Optional<Object> claim = request.jwt().get().metadata(path);
      boolean matched = claim.isPresent() && value.matches(claim.get());
      return matched != invert;
    }
  }

  private static <T> List<T> nonEmpty(List<T> ids, String what) {
    List<T> copy = List.copyOf(ids);
    if (copy.isEmpty()) {
      throw new IllegalArgumentException(what + " needs at least one id");
    }
    return copy;
  }
}
