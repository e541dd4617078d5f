package dev.inmesh.gateway.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestTargetTest {
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/public/../admin|/admin",
      "/public/%2e%2e/admin|/admin",
      "/public/%2E%2e/admin|/admin",
      "/public\\..\\admin|/admin",
      "/a/./b/.|/a/b/",
      "/../../etc/passwd|/etc/passwd",
      "/a/b/..|/a/",
      "/|/",
      "//double//slash|//double//slash",
      "/%7Euser/%61bc|/~user/abc",
      "/a%2fb/%5c|/a%2Fb/%5C",
      "/caf%c3%a9|/caf%C3%A9",
      "/semi;colon/at@/plus+|/semi;colon/at@/plus+"})
  void normalizesThePathAsIstiosBaseNormalizationDoes(String target, String path) {
    assertThat(RequestTarget.normalize("shop.example.com", target).path()).isEqualTo(path);
  }

  @org.junit.jupiter.api.Test
  void keepsTheQueryAsSentAndLowerCasesTheAuthority() {
    RequestTarget.Normalized normalized = RequestTarget.normalize("Shop.Example.COM:8443", "/a/../b?x=%2F..&y");

    assertThat(normalized.authority()).isEqualTo("shop.example.com:8443");
    assertThat(normalized.uri()).isEqualTo("/b?x=%2F..&y");
    assertThat(RequestTarget.normalize("[::1]:8080", "/").authority()).isEqualTo("[::1]:8080");
    assertThat(RequestTarget.normalize("10.0.0.7", "/").authority()).isEqualTo("10.0.0.7");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a.example/admin#", "a.example/admin?x=", "%61dmin.example", "a@b", "a b", "a.example:port",
      "a.example:123456", ""})
  void refusesAnAuthorityThatIsNotAHostAndPort(String authority) {
    assertThatThrownBy(() -> RequestTarget.normalize(authority, "/")).isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://evil.example/", "*", "/a#b", "/a b", "/a%zz", "/a%2", "/\"quoted\"", "/a?b c", "/é"})
  void refusesATargetThatIsNotAPathItCouldNormalize(String target) {
    assertThatThrownBy(() -> RequestTarget.normalize("shop.example.com", target))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
