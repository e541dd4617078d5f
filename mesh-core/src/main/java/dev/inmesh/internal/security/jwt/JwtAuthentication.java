package dev.inmesh.internal.security.jwt;

import dev.inmesh.spi.RequestHead;
import dev.inmesh.spi.RequestHeaderChanges;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The end-user authentication of one listener: Envoy's {@code jwt_authn} filter in the shape Istio
 * writes it, a requirement that any one provider verifies the request's token or that there is
 * none ({@code requires_any} of the providers and {@code allow_missing}).
 *
 * <p>Every location a provider names is read; each token found must verify against the provider
 * of its issuer, else the request is rejected with Envoy's reason. A request without a token passes.
 * Providers' output headers are removed from every request first, so that a caller cannot forge
 * them for the application.
 *
 * @param providers the accepted issuers; empty means no authentication (everything passes)
 * @param allowMissing whether a request without a token passes (Istio's rules always allow it)
 * @param bypassCorsPreflight whether a CORS preflight ({@code OPTIONS} with {@code Origin} and
 *     {@code Access-Control-Request-Method}) skips authentication, as Istio asks of Envoy
 */
public record JwtAuthentication(List<JwtProvider> providers, boolean allowMissing, boolean bypassCorsPreflight) {
  /** No RequestAuthentication: nothing to check, nothing to change. */
  public static final JwtAuthentication NONE = new JwtAuthentication(List.of(), true, true);
  /** Envoy's reason when a token is required and there is none. */
  public static final String MISSING = "Jwt is missing";
  /** Longer tokens are refused unread: what a caller can make the verifier parse stays bounded. */
  public static final int MAX_TOKEN_CHARS = 16 * 1024;
  /** More tokens on one request than this are refused unread. */
  public static final int MAX_TOKENS = 4;

  public JwtAuthentication {
    providers = List.copyOf(providers);
    Set<String> names = new HashSet<>();
    for (JwtProvider provider : providers) {
      if (!names.add(provider.name())) {
        throw new IllegalArgumentException("provider '" + provider.name() + "' appears twice");
      }
    }
  }

  public boolean isEmpty() {
    return providers.isEmpty();
  }

  /** A token as found, with the header to remove when its provider does not forward it. */
  private record Found(String token, Optional<String> header, List<JwtProvider> candidates) {}

  /** Authenticates {@code head} at {@code clock}'s instant. */
  public JwtOutcome authenticate(RequestHead head, Clock clock) {
    if (providers.isEmpty()) {
      return new JwtOutcome.Anonymous(RequestHeaderChanges.NONE);
    }
    Set<String> removed = new LinkedHashSet<>();
    for (JwtProvider provider : providers) {
      provider.payloadHeader().ifPresent(removed::add);
      provider.claimHeaders().forEach(c -> removed.add(c.header()));
    }
    if (bypassCorsPreflight && head.method().equals("OPTIONS") && head.header("origin").isPresent()
        && head.header("access-control-request-method").isPresent()) {
      return new JwtOutcome.Anonymous(new RequestHeaderChanges(removed, Map.of()));
    }
    List<Found> found;
    try {
      found = tokens(head);
    } catch (IllegalArgumentException e) {
      return new JwtOutcome.Rejected(JwtVerifier.VERIFICATION_FAILS);
    }
    if (found.isEmpty()) {
      if (!allowMissing) {
        return new JwtOutcome.Rejected(MISSING);
      }
      return new JwtOutcome.Anonymous(new RequestHeaderChanges(removed, Map.of()));
    }
    Map<String, String> set = new LinkedHashMap<>();
    VerifiedJwt first = null;
    for (Found token : found) {
      JwtVerifier.Result result = JwtVerifier.verify(token.token(), token.candidates(), clock.instant());
      if (result instanceof JwtVerifier.Result.Failed failed) {
        return new JwtOutcome.Rejected(failed.reason());
      }
      JwtVerifier.Result.Verified verified = (JwtVerifier.Result.Verified) result;
      JwtProvider provider = verified.provider();
      if (!provider.forward()) {
        token.header().ifPresent(removed::add);
      }
      provider.payloadHeader().ifPresent(h -> set.put(h, verified.payload()));
      for (JwtProvider.ClaimHeader claim : provider.claimHeaders()) {
        claimText(verified.jwt().claims().get(claim.claim())).ifPresent(v -> set.put(claim.header(), v));
      }
      if (first == null) {
        first = verified.jwt();
      }
    }
    return new JwtOutcome.Authenticated(first, new RequestHeaderChanges(removed, set));
  }

  /** Envoy copies strings, numbers and booleans; other claims are left out. */
  private static Optional<String> claimText(Object value) {
    if (value instanceof String || value instanceof Number || value instanceof Boolean) {
      return Optional.of(String.valueOf(value));
    }
    return Optional.empty();
  }

  /** Every token in every location a provider reads, each with the providers that read that location. */
  private List<Found> tokens(RequestHead head) {
    Map<String, Found> byLocation = new LinkedHashMap<>();
    for (JwtProvider provider : providers) {
      for (JwtProvider.TokenHeader header : provider.headers()) {
        List<String> values = head.headerValues().apply(header.name());
        if (values == null) {
          continue;
        }
        for (int i = 0; i < values.size(); i++) {
          String value = values.get(i);
          if (!value.startsWith(header.prefix())) {
            continue;
          }
          add(byLocation, "header " + header.name() + "#" + i + " " + header.prefix(),
              value.substring(header.prefix().length()).trim(), Optional.of(header.name()), provider);
        }
      }
      if (!provider.params().isEmpty()) {
        Map<String, List<String>> params = query(head.path());
        for (String param : provider.params()) {
          List<String> values = params.getOrDefault(param, List.of());
          for (int i = 0; i < values.size(); i++) {
            add(byLocation, "param " + param + "#" + i, values.get(i), Optional.empty(), provider);
          }
        }
      }
      if (!provider.fromCookies().isEmpty()) {
        Map<String, List<String>> cookies = cookies(head);
        for (String cookie : provider.fromCookies()) {
          List<String> values = cookies.getOrDefault(cookie, List.of());
          for (int i = 0; i < values.size(); i++) {
            add(byLocation, "cookie " + cookie + "#" + i, values.get(i), Optional.empty(), provider);
          }
        }
      }
    }
    return List.copyOf(byLocation.values());
  }

  private static void add(Map<String, Found> found, String location, String token, Optional<String> header,
      JwtProvider provider) {
    if (token.isEmpty()) {
      return;
    }
    Found existing = found.get(location);
    if (existing != null) {
      List<JwtProvider> candidates = new ArrayList<>(existing.candidates());
      candidates.add(provider);
      found.put(location, new Found(token, header, candidates));
      return;
    }
    if (found.size() >= MAX_TOKENS || token.length() > MAX_TOKEN_CHARS) {
      throw new IllegalArgumentException("too many or too long tokens");
    }
    found.put(location, new Found(token, header, List.of(provider)));
  }

  private static Map<String, List<String>> query(String path) {
    Map<String, List<String>> params = new LinkedHashMap<>();
    int start = path.indexOf('?');
    if (start < 0) {
      return params;
    }
    int end = path.indexOf('#', start);
    String query = path.substring(start + 1, end < 0 ? path.length() : end);
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        continue;
      }
      String name = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
      params.computeIfAbsent(name, n -> new ArrayList<>())
          .add(URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return params;
  }

  private static Map<String, List<String>> cookies(RequestHead head) {
    Map<String, List<String>> cookies = new LinkedHashMap<>();
    List<String> headers = head.headerValues().apply("cookie");
    if (headers == null) {
      return cookies;
    }
    for (String header : headers) {
      for (String pair : header.split(";")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          String value = pair.substring(eq + 1).trim();
          if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1);
          }
          cookies.computeIfAbsent(pair.substring(0, eq).trim(), n -> new ArrayList<>()).add(value);
        }
      }
    }
    return cookies;
  }
}
