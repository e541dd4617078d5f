package dev.inmesh.internal.security.authz;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Objects;

/**
 * An IPv4 or IPv6 block. Host bits below the prefix are cleared, as Envoy does, so that
 * {@code 10.1.2.3/8} and {@code 10.0.0.0/8} are the same block.
 */
public record CidrRange(InetAddress address, int prefixLength) {
  public CidrRange {
    Objects.requireNonNull(address, "address");
    int bits = address.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException("prefix length of " + address.getHostAddress() + " must be between 0 and "
          + bits + ", got " + prefixLength);
    }
    address = masked(address, prefixLength);
  }

  /** {@code 10.0.0.0/8}, {@code 2001:db8::/32}, or a bare address for a single host. */
  public static CidrRange of(String cidr) {
    int slash = cidr.indexOf('/');
    InetAddress address = parseAddress(slash < 0 ? cidr : cidr.substring(0, slash));
    if (slash < 0) {
      return new CidrRange(address, address.getAddress().length * 8);
    }
    try {
      return new CidrRange(address, Integer.parseInt(cidr.substring(slash + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a CIDR block: '" + cidr + "'", e);
    }
  }

  /**
   * An IP literal; never a host name, because resolving a name here would put DNS on the policy
   * path and make the decision depend on it.
   */
  public static InetAddress parseAddress(String literal) {
    Objects.requireNonNull(literal, "literal");
    boolean ipv4 = literal.matches("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    boolean ipv6 = literal.indexOf(':') >= 0 && literal.indexOf('%') < 0 && literal.matches("[0-9A-Fa-f:.]+");
    if (!ipv4 && !ipv6) {
      throw new IllegalArgumentException("not an IP address: '" + literal + "'");
    }
    if (ipv4) {
      for (String octet : literal.split("\\.")) {
        if (Integer.parseInt(octet) > 255) {
          throw new IllegalArgumentException("not an IP address: '" + literal + "'");
        }
      }
    }
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: '" + literal + "'", e);
    }
  }

  /** An address of the other family never matches: Envoy does not map IPv4 into IPv6 for RBAC. */
  public boolean contains(InetAddress candidate) {
    byte[] block = address.getAddress();
    byte[] other = candidate.getAddress();
    if (block.length != other.length) {
      return false;
    }
    return Arrays.equals(block, masked(candidate, prefixLength).getAddress());
  }

  private static InetAddress masked(InetAddress address, int prefixLength) {
    byte[] bytes = address.getAddress();
    for (int i = 0; i < bytes.length; i++) {
      int keep = Math.max(0, Math.min(8, prefixLength - i * 8));
      bytes[i] &= (byte) (0xff << (8 - keep));
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("a 4- or 16-byte address is always valid", e);
    }
  }

  @Override
  public String toString() {
    String host = address.getHostAddress();
    return (address instanceof Inet4Address ? host : host.toLowerCase(java.util.Locale.ROOT)) + "/" + prefixLength;
  }
}
