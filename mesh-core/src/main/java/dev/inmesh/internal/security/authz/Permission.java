package dev.inmesh.internal.security.authz;

import dev.inmesh.internal.routing.StringMatcher;
import java.util.List;
import java.util.Objects;

/** What a request does: Envoy's RBAC {@code Permission}, the {@code to} and most of the {@code when} of Istio. */
public sealed interface Permission {
  boolean matches(AuthzRequest request);

  record Any() implements Permission {
    @Override
    public boolean matches(AuthzRequest request) {
      return true;
    }
  }

  record And(List<Permission> rules) implements Permission {
    public And {
      rules = nonEmpty(rules, "and");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      for (Permission rule : rules) {
        if (!rule.matches(request)) {
          return false;
        }
      }
      return true;
    }
  }

  record Or(List<Permission> rules) implements Permission {
    public Or {
      rules = nonEmpty(rules, "or");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      for (Permission rule : rules) {
        if (rule.matches(request)) {
          return true;
        }
      }
      return false;
    }
  }

  record Not(Permission rule) implements Permission {
    public Not {
      Objects.requireNonNull(rule, "rule");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return !rule.matches(request);
    }
  }

  /** A request header, or {@code :method}, {@code :authority}, {@code :path}. */
  record Header(HeaderMatch header) implements Permission {
    public Header {
      Objects.requireNonNull(header, "header");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return header.matches(request);
    }
  }

  /** The path without its query. */
  record UrlPath(StringMatcher path) implements Permission {
    public UrlPath {
      Objects.requireNonNull(path, "path");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return path.matches(request.urlPath());
    }
  }

  /** The path without its query, against a {@code uri_template}. */
  record UrlTemplate(PathTemplate template) implements Permission {
    public UrlTemplate {
      Objects.requireNonNull(template, "template");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return template.matches(request.urlPath());
    }
  }

  record DestinationIp(CidrRange range) implements Permission {
    public DestinationIp {
      Objects.requireNonNull(range, "range");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return range.contains(request.destinationIp());
    }
  }

  record DestinationPort(int port) implements Permission {
    public DestinationPort {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return request.destinationPort() == port;
    }
  }

  /** Ports from {@code start} inclusive to {@code end} exclusive, as Envoy's {@code Int32Range}. */
  record DestinationPortRange(int start, int end) implements Permission {
    public DestinationPortRange {
      if (start < 0 || end > 65536 || start > end) {
        throw new IllegalArgumentException("port range must lie in [0, 65536) with start <= end, got [" + start + ", " + end + ")");
      }
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return request.destinationPort() >= start && request.destinationPort() < end;
    }
  }

  /** The TLS SNI; a request without one is matched as the empty string, as Envoy does. */
  record RequestedServerName(StringMatcher name) implements Permission {
    public RequestedServerName {
      Objects.requireNonNull(name, "name");
    }

    @Override
    public boolean matches(AuthzRequest request) {
      return name.matches(request.sni().orElse(""));
    }
  }

  private static <T> List<T> nonEmpty(List<T> rules, String what) {
    List<T> copy = List.copyOf(rules);
    if (copy.isEmpty()) {
      throw new IllegalArgumentException(what + " needs at least one rule");
    }
    return copy;
  }
}
