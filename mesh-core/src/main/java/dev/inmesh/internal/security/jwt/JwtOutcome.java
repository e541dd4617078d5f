package dev.inmesh.internal.security.jwt;

import dev.inmesh.spi.RequestHeaderChanges;
import java.util.Objects;
import java.util.Optional;

/** What end-user authentication makes of one request. */
public sealed interface JwtOutcome {

  /** The header changes the application must see, whatever the outcome. */
  RequestHeaderChanges headerChanges();

  /** The verified token, when there is one. */
  default Optional<VerifiedJwt> jwt() {
    return Optional.empty();
  }

  /**
   * No token in any location the providers read: authentication passes, and authorization sees no
   * request principal.
   */
  record Anonymous(RequestHeaderChanges headerChanges) implements JwtOutcome {
    public Anonymous {
      Objects.requireNonNull(headerChanges, "headerChanges");
    }
  }

  /** Every token found verified; the first one is the request's principal. */
  record Authenticated(VerifiedJwt token, RequestHeaderChanges headerChanges) implements JwtOutcome {
    public Authenticated {
      Objects.requireNonNull(token, "token");
      Objects.requireNonNull(headerChanges, "headerChanges");
    }

    @Override
    public Optional<VerifiedJwt> jwt() {
      return Optional.of(token);
    }
  }

  /**
   * A token was found and did not verify: answer 401 with {@link #reason}, Envoy's text
   * ({@code Jwt is expired}, {@code Jwt verification fails}, …).
   */
  record Rejected(String reason) implements JwtOutcome {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
    }

    @Override
    public RequestHeaderChanges headerChanges() {
      return RequestHeaderChanges.NONE;
    }

    /**
     * Envoy's {@code www-authenticate} for this refusal: the request's URI without its query as
     * the realm, and {@code error="invalid_token"} unless the token was missing.
     *
     * @param scheme {@code http} or {@code https}, as the caller connected
     * @param host the request's {@code :authority}
     * @param path the request's {@code :path}, query included or not
     */
    public String challenge(String scheme, String host, String path) {
      int query = path.indexOf('?');
      String uri = scheme + "://" + host + (query < 0 ? path : path.substring(0, query));
      String value = "Bearer realm=\"" + uri.replace("\"", "%22") + "\"";
      return reason.equals(JwtAuthentication.MISSING) ? value : value + ", error=\"invalid_token\"";
    }
  }
}
