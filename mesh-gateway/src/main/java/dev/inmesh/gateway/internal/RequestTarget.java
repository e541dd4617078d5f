package dev.inmesh.gateway.internal;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A request's authority and target as the gateway decides, routes and forwards them, made once so
 * that AuthorizationPolicy, the route match and the upstream all see the same path and host, as
 * Istio's default path normalization ({@code BASE}, Envoy's {@code normalize_path}) makes them:
 * backslashes become slashes, percent-encoded unreserved characters are decoded (other escapes,
 * {@code %2F} among them, are kept, in upper case), and dot-segments are removed (RFC 3986
 * 5.2.4). What cannot be made so, and any authority that is not a host name or an IP literal with an
 * optional port, is refused (400): a path RBAC saw is never a different path upstream.
 */
final class RequestTarget {
  private static final Pattern AUTHORITY = Pattern.compile(
      "(?:[a-z0-9_](?:[a-z0-9._-]*[a-z0-9_])?|\\[[0-9a-f:.]+\\])(?::[0-9]{1,5})?");
  private static final String UNRESERVED_MARKS = "-._~";
  private static final String SUB_DELIMS = "!$&'()*+,;=";

  /** The normalized parts; {@code query} without its {@code ?}, null when there is none. */
  record Normalized(String authority, String path, String query) {
    String uri() {
      return query == null ? path : path + "?" + query;
    }
  }

  private RequestTarget() {}

  /** @throws IllegalArgumentException saying what is wrong with the authority or the target */
  static Normalized normalize(String authority, String target) {
    if (authority == null || authority.isEmpty()) {
      throw new IllegalArgumentException("no Host header");
    }
    String host = authority.toLowerCase(Locale.ROOT);
    if (!AUTHORITY.matcher(host).matches()) {
      throw new IllegalArgumentException("the Host header is not a host name or an IP address with an optional port");
    }
    if (!target.startsWith("/")) {
      throw new IllegalArgumentException("the request target must be a path");
    }
    if (target.indexOf('#') >= 0) {
      throw new IllegalArgumentException("the request target carries a fragment");
    }
    int mark = target.indexOf('?');
    String path = mark < 0 ? target : target.substring(0, mark);
    String query = mark < 0 ? null : target.substring(mark + 1);
    if (query != null) {
      checkQuery(query);
    }
    return new Normalized(host, removeDotSegments(decodeUnreserved(path.replace('\\', '/'))), query);
  }

  /** Decodes {@code %XX} of unreserved characters, upper-cases the others, and refuses a character a path cannot hold. */
  private static String decodeUnreserved(String path) {
    StringBuilder out = new StringBuilder(path.length());
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '%') {
        if (i + 2 >= path.length() || Character.digit(path.charAt(i + 1), 16) < 0 || Character.digit(path.charAt(i + 2), 16) < 0) {
          throw new IllegalArgumentException("the path has a malformed percent-encoding");
        }
        char decoded = (char) Integer.parseInt(path.substring(i + 1, i + 3), 16);
        if (unreserved(decoded)) {
          out.append(decoded);
        } else {
          out.append('%').append(path.substring(i + 1, i + 3).toUpperCase(Locale.ROOT));
        }
        i += 2;
      } else if (unreserved(c) || c == '/' || c == ':' || c == '@' || SUB_DELIMS.indexOf(c) >= 0) {
        out.append(c);
      } else {
        throw new IllegalArgumentException("the path holds a character it must escape");
      }
    }
    return out.toString();
  }

  private static void checkQuery(String query) {
    for (int i = 0; i < query.length(); i++) {
      char c = query.charAt(i);
      boolean allowed = unreserved(c) || c == '/' || c == '?' || c == ':' || c == '@' || c == '%' || SUB_DELIMS.indexOf(c) >= 0;
      if (!allowed) {
        throw new IllegalArgumentException("the query holds a character it must escape");
      }
    }
  }

  private static boolean unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || UNRESERVED_MARKS.indexOf(c) >= 0;
  }

  /** RFC 3986 5.2.4 on an absolute path: {@code .} segments go, {@code ..} takes the one before it, never above the root. */
  static String removeDotSegments(String path) {
    Deque<String> kept = new ArrayDeque<>();
    String[] segments = path.split("/", -1);
    // segments[0] is the empty string before the leading slash
    for (int i = 1; i < segments.length; i++) {
      String segment = segments[i];
      boolean last = i == segments.length - 1;
      if (segment.equals(".") || segment.equals("..")) {
        if (segment.equals("..") && !kept.isEmpty()) {
          kept.removeLast();
        }
        if (last) {
          // "/a/b/.." is "/a/": the directory remains
          kept.addLast("");
        }
        continue;
      }
      kept.addLast(segment);
    }
    return "/" + String.join("/", kept);
  }
}
