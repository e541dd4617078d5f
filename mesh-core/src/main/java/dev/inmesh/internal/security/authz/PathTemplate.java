package dev.inmesh.internal.security.authz;

import com.google.re2j.Pattern;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Envoy's {@code uri_template} path matcher, which Istio emits for paths with {@code {*}} and
 * {@code {**}}: {@code *} is one path segment, {@code **} is zero or more segments and may only be
 * the last glob, {@code {name}} and {@code {name=…}} are the same globs with a name. The template
 * is checked as Envoy checks it, so a template Envoy would refuse is refused here too.
 */
public record PathTemplate(String template, Pattern pattern) {
  // RFC 3986 pchar without '*' and '=', which are template syntax.
  private static final String LITERAL_CHARS = "a-zA-Z0-9\\-._~%!$&'()+,;:@";
  private static final Pattern LITERAL = Pattern.compile("[" + LITERAL_CHARS + "]+");
  private static final Pattern VARIABLE_NAME = Pattern.compile("[a-zA-Z][a-zA-Z0-9_]*");
  private static final String ONE_SEGMENT = "[" + LITERAL_CHARS + "]+";
  private static final String ANY_SEGMENTS = "[" + LITERAL_CHARS + "/]*";

  public PathTemplate {
    Objects.requireNonNull(template, "template");
    Objects.requireNonNull(pattern, "pattern");
  }

  /** Compiles a template; the exception says what is wrong with it. */
  public static PathTemplate of(String template) {
    return new PathTemplate(template, Pattern.compile(new Compiler(template).compile()));
  }

  /** Matches the path without its query, as Envoy does. */
  public boolean matches(String urlPath) {
    return pattern.matches(urlPath);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof PathTemplate t && t.template.equals(template);
  }

  @Override
  public int hashCode() {
    return template.hashCode();
  }

  @Override
  public String toString() {
    return "PathTemplate[" + template + "]";
  }

  private static final class Compiler {
    private final String template;
    private final Set<String> names = new HashSet<>();
    private boolean sawTextGlob;
    private String rest;

    Compiler(String template) {
      this.template = template;
    }

    String compile() {
      if (!template.startsWith("/") || !template.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw invalid("must start with '/' and hold only printable ASCII");
      }
      rest = template.substring(1);
      List<String> segments = new ArrayList<>();
      String suffix = "";
      while (!rest.isEmpty()) {
        segments.add(segment());
        if (rest.isEmpty()) {
          break;
        }
        if (rest.equals("/")) {
          segments.add("");
          break;
        }
        if (rest.charAt(0) == '/') {
          rest = rest.substring(1);
          continue;
        }
        // Text glued to the end of the last segment, as in "/**.mpd".
        suffix = literal(rest);
        break;
      }
      return "/" + String.join("/", segments) + suffix;
    }

    private String segment() {
      if (rest.startsWith("**")) {
        rest = rest.substring(2);
        return glob(true);
      }
      if (rest.startsWith("*")) {
        rest = rest.substring(1);
        return glob(false);
      }
      if (rest.startsWith("{")) {
        return variable();
      }
      String literal = upToSlash(rest);
      rest = rest.substring(literal.length());
      return literal(literal);
    }

    private String variable() {
      int close = rest.indexOf('}');
      if (close < 0) {
        throw invalid("unmatched '{'");
      }
      String body = rest.substring(1, close);
      rest = rest.substring(close + 1);
      int equals = body.indexOf('=');
      String name = equals < 0 ? body : body.substring(0, equals);
      if (!VARIABLE_NAME.matches(name) || name.length() > 16) {
        throw invalid("bad variable name '" + name + "'");
      }
      if (!names.add(name) || names.size() > 5) {
        throw invalid("variable names must be unique and at most 5");
      }
      if (equals < 0) {
        return glob(false);
      }
      String match = body.substring(equals + 1);
      if (match.isEmpty() || match.startsWith("/") || match.endsWith("/")) {
        throw invalid("bad variable match '" + match + "'");
      }
      List<String> parts = new ArrayList<>();
      for (String part : match.split("/", -1)) {
        parts.add(part.equals("**") ? glob(true) : part.equals("*") ? glob(false) : literal(part));
      }
      return String.join("/", parts);
    }

    private String glob(boolean text) {
      if (sawTextGlob) {
        throw invalid("no glob may follow '**'");
      }
      sawTextGlob = text;
      return text ? ANY_SEGMENTS : ONE_SEGMENT;
    }

    private String literal(String text) {
      if (!LITERAL.matches(text)) {
        throw invalid("'" + text + "' is not a valid path literal");
      }
      return Pattern.quote(text);
    }

    private static String upToSlash(String text) {
      int slash = text.indexOf('/');
      return slash < 0 ? text : text.substring(0, slash);
    }

    private IllegalArgumentException invalid(String why) {
      return new IllegalArgumentException("invalid path template '" + template + "': " + why);
    }
  }
}
