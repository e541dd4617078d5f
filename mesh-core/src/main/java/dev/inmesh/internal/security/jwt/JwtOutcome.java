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
  }
}
