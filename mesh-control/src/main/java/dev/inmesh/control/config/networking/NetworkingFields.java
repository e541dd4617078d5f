package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecReader;
import java.util.List;
import java.util.regex.Pattern;

/** Checks of the fields the networking kinds share: host names, subset names, ports, label selectors, exportTo. */
final class NetworkingFields {
  private static final Pattern DNS_LABEL = Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?");
  private static final Pattern SUBSET_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern LABEL_KEY = Pattern.compile("([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");

  private NetworkingFields() {}

  /** A host that may start with {@code *.} or be {@code *} itself. */
  static boolean isValidWildcardHost(String host) {
    if (host.equals("*")) {
      return true;
    }
    // Istio allows the wildcard as (the start of) the first label: *.example.com, but also *x
    String rest = host.startsWith("*.") ? host.substring(2) : host.startsWith("*") ? host.substring(1) : host;
    return isValidDnsName(rest);
  }

  static boolean isValidDnsName(String host) {
    if (host.isEmpty() || host.length() > 255) {
      return false;
    }
    String trimmed = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    for (String label : trimmed.split("\\.", -1)) {
      if (!DNS_LABEL.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  static void checkHosts(SpecReader reader, String field, List<String> hosts) {
    for (int i = 0; i < hosts.size(); i++) {
      if (!isValidWildcardHost(hosts.get(i))) {
        reader.error(field + "[" + i + "]", "invalid host '" + hosts.get(i) + "': must be a DNS name, optionally starting with *.");
      }
    }
  }

  static void checkSubsetName(SpecReader reader, String field, String name) {
    if (!SUBSET_NAME.matcher(name).matches()) {
      reader.error(field, "subset name must be a DNS-1123 label, got '" + name + "'");
    }
  }

  static void checkPort(SpecReader reader, String field, long port) {
    if (port < 1 || port > 65535) {
      reader.error(field, "port must be between 1-65535, got " + port);
    }
  }

  /** Label selectors: Kubernetes label keys and values, no wildcards. */
  static void checkLabels(SpecReader reader, String field, java.util.Map<String, String> labels) {
    labels.forEach((key, value) -> {
      if (!LABEL_KEY.matcher(key).matches()) {
        reader.error(field + "." + key, "invalid label key '" + key + "'");
      }
      if (value.contains("*")) {
        reader.error(field + "." + key, "wildcard is not supported in selector, got '" + value + "'");
      } else if (!value.isEmpty() && !value.matches("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")) {
        reader.error(field + "." + key, "invalid label value '" + value + "'");
      }
    });
  }

  static void checkExportTo(SpecReader reader, List<String> exportTo) {
    for (int i = 0; i < exportTo.size(); i++) {
      String value = exportTo.get(i);
      if (!value.equals("*") && !value.equals(".") && !value.equals("~") && !value.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
        reader.error("exportTo[" + i + "]", "must be '*', '.', '~' or a namespace, got '" + value + "'");
      }
    }
  }
}
