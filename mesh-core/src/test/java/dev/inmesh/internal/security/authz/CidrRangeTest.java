package dev.inmesh.internal.security.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CidrRangeTest {
  private static boolean contains(String block, String address) {
    return CidrRange.of(block).contains(CidrRange.parseAddress(address));
  }

  @Test
  void anIpv4BlockContainsTheAddressesUnderItsPrefix() {
    assertThat(contains("192.168.10.0/24", "192.168.10.0")).isTrue();
    assertThat(contains("192.168.10.0/24", "192.168.10.255")).isTrue();
    assertThat(contains("192.168.10.0/24", "192.168.11.0")).isFalse();
    assertThat(contains("10.80.64.0/18", "10.80.127.1")).isTrue();
    assertThat(contains("10.80.64.0/18", "10.80.128.1")).isFalse();
  }

  @Test
  void aBareAddressIsASingleHost() {
    assertThat(CidrRange.of("1.2.3.4")).isEqualTo(CidrRange.of("1.2.3.4/32"));
    assertThat(contains("1.2.3.4", "1.2.3.4")).isTrue();
    assertThat(contains("1.2.3.4", "1.2.3.5")).isFalse();
  }

  @Test
  void aZeroPrefixContainsEveryAddressOfItsFamily() {
    assertThat(contains("0.0.0.0/0", "203.0.113.9")).isTrue();
    assertThat(contains("::/0", "2001:db8::1")).isTrue();
    assertThat(contains("::/0", "203.0.113.9")).isFalse();
  }

  @Test
  void anIpv6BlockContainsTheAddressesUnderItsPrefix() {
    assertThat(contains("2001:db8::/32", "2001:db8:ffff::1")).isTrue();
    assertThat(contains("2001:db8::/33", "2001:db8:8000::1")).isFalse();
    assertThat(contains("2001:db8::1", "2001:db8::1")).isTrue();
  }

  @Test
  void addressesOfTheOtherFamilyNeverMatch() {
    assertThat(contains("10.0.0.0/8", "::ffff:a00:1")).isTrue(); // the JDK reads a mapped address as IPv4
    assertThat(contains("10.0.0.0/8", "2001:db8::1")).isFalse();
    assertThat(contains("2001:db8::/32", "10.0.0.1")).isFalse();
  }

  @Test
  void hostBitsAreClearedSoEqualBlocksAreEqual() {
    assertThat(CidrRange.of("10.1.2.3/8")).isEqualTo(CidrRange.of("10.0.0.0/8"));
    assertThat(CidrRange.of("10.1.2.3/8")).hasToString("10.0.0.0/8");
  }

  @Test
  void refusesHostNamesWithoutLookingThemUp() {
    assertThatThrownBy(() -> CidrRange.of("localhost/8"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an IP address: 'localhost'");
    assertThatThrownBy(() -> CidrRange.of("256.1.1.1"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'256.1.1.1'");
    assertThatThrownBy(() -> CidrRange.of("fe80::1%eth0"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void refusesAPrefixLongerThanTheAddress() {
    assertThatThrownBy(() -> CidrRange.of("10.0.0.0/33"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 0 and 32, got 33");
    assertThatThrownBy(() -> CidrRange.of("::/129"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 0 and 128, got 129");
    assertThatThrownBy(() -> CidrRange.of("10.0.0.0/x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'10.0.0.0/x'");
  }
}
