package dev.inmesh.control.config.security;

/**
 * Recognizes IP literals and CIDR ranges the way Istio's validation does (Go's {@code netip}):
 * dotted-quad IPv4 without leading zeros, IPv6 with {@code ::} and an optional IPv4 tail, and
 * {@code address/prefix}. It never resolves a name, which {@code InetAddress.getByName} would.
 * Public because Gateway's {@code bind} needs the same check.
 */
public final class IpAddresses {
  private IpAddresses() {}

  public static boolean isIpOrCidr(String value) {
    return value.contains("/") ? isCidr(value) : isIp(value);
  }

  public static boolean isIp(String value) {
    return isIpv4(value) || isIpv6(value);
  }

  public static boolean isCidr(String value) {
    int slash = value.indexOf('/');
    if (slash < 0 || slash != value.lastIndexOf('/')) {
      return false;
    }
    String address = value.substring(0, slash);
    String prefix = value.substring(slash + 1);
    if (!prefix.matches("0|[1-9]\\d{0,2}")) {
      return false;
    }
    int bits = Integer.parseInt(prefix);
    if (isIpv4(address)) {
      return bits <= 32;
    }
    return isIpv6(address) && bits <= 128;
  }

  static boolean isIpv4(String value) {
    String[] parts = value.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String part : parts) {
      // Go rejects leading zeros because some parsers read them as octal
      if (!part.matches("0|[1-9]\\d{0,2}") || Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  static boolean isIpv6(String value) {
    String address = value;
    int zone = address.indexOf('%');
    if (zone >= 0) {
      if (zone == address.length() - 1) {
        return false;
      }
      address = address.substring(0, zone);
    }
    if (!address.contains(":")) {
      return false;
    }
    int gap = address.indexOf("::");
    if (gap >= 0 && address.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    if (gap < 0) {
      return groups(address) == 8;
    }
    String head = address.substring(0, gap);
    String tail = address.substring(gap + 2);
    int headGroups = head.isEmpty() ? 0 : groups(head);
    int tailGroups = tail.isEmpty() ? 0 : groups(tail);
    if (headGroups < 0 || tailGroups < 0 || head.contains(".")) {
      return false;
    }
    return headGroups + tailGroups <= 7;
  }

  /** Counts 16-bit groups in a colon-separated run, an IPv4 tail counting two; -1 if malformed. */
  private static int groups(String run) {
    String[] parts = run.split(":", -1);
    int count = 0;
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      if (i == parts.length - 1 && part.contains(".")) {
        if (!isIpv4(part)) {
          return -1;
        }
        count += 2;
      } else if (part.matches("[0-9a-fA-F]{1,4}")) {
        count++;
      } else {
        return -1;
      }
    }
    return count;
  }
}
