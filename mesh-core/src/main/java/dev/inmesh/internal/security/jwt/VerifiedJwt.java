package dev.inmesh.internal.security.jwt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A token whose signature, issuer, audience and times have been checked: what authorization reads
 * as Envoy's {@code jwt_authn} dynamic metadata.
 *
 * @param provider the provider that verified it
 * @param metadataKey the first path segment under which its claims are found ({@code payload})
 * @param claims the payload as JSON values (String, Number, Boolean, List, Map), space-delimited
 *     claims already split into lists
 */
public record VerifiedJwt(String provider, String metadataKey, Map<String, Object> claims) {
  public VerifiedJwt {
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(metadataKey, "metadataKey");
    claims = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(claims));
  }

  /** Splits the named string claims at spaces, as Envoy's {@code normalize_payload_in_metadata} does. */
  static Map<String, Object> normalized(Map<String, Object> claims, List<String> spaceDelimited) {
    Map<String, Object> copy = new LinkedHashMap<>(claims);
    for (String name : spaceDelimited) {
      if (copy.get(name) instanceof String text) {
        List<Object> parts = new ArrayList<>(Arrays.asList((Object[]) text.trim().split(" +")));
        parts.removeIf(p -> ((String) p).isEmpty());
        copy.put(name, List.copyOf(parts));
      }
    }
    return copy;
  }

  /** {@code iss/sub}, Istio's request principal; empty without both claims as strings. */
  public Optional<String> principal() {
    if (claims.get("iss") instanceof String iss && claims.get("sub") instanceof String sub) {
      return Optional.of(iss + "/" + sub);
    }
    return Optional.empty();
  }

  /**
   * The value at a metadata path such as {@code [payload, groups]} or {@code [payload, a, b]};
   * empty when the first segment is not this token's key or any segment is missing.
   */
  public Optional<Object> metadata(List<String> path) {
    if (path.isEmpty() || !path.get(0).equals(metadataKey)) {
      return Optional.empty();
    }
    Object value = claims;
    for (String key : path.subList(1, path.size())) {
      if (!(value instanceof Map<?, ?> map) || !map.containsKey(key)) {
        return Optional.empty();
      }
      value = map.get(key);
    }
    return Optional.ofNullable(value);
  }
}
