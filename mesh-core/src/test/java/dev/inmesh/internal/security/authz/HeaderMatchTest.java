package dev.inmesh.internal.security.authz;

import static dev.inmesh.internal.security.authz.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.routing.StringMatcher;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HeaderMatchTest {
  private static final StringMatcher PROD = new StringMatcher.Exact("prod", false);

  @Test
  void pseudoHeadersNameTheRequestLine() {
    AuthzRequest get = request().method("GET").host("reviews:9080").path("/r?x=1").build();

    assertThat(HeaderMatch.of(":method", new StringMatcher.Exact("GET", false)).matches(get)).isTrue();
    assertThat(HeaderMatch.of(":authority", new StringMatcher.Exact("reviews:9080", false)).matches(get)).isTrue();
    assertThat(HeaderMatch.of("Host", new StringMatcher.Exact("reviews:9080", false)).matches(get)).isTrue();
    assertThat(HeaderMatch.of(":path", new StringMatcher.Exact("/r?x=1", false)).matches(get)).isTrue();
  }

  @Test
  void namesAreMatchedInLowerCase() {
    assertThat(HeaderMatch.of("X-Env", PROD).matches(request().header("x-env", "prod").build())).isTrue();
  }

  @Test
  void aMissingHeaderMatchesNoValueEvenInverted() {
    assertThat(HeaderMatch.of("x-env", PROD).matches(request().build())).isFalse();
    assertThat(new HeaderMatch("x-env", Optional.of(PROD), true, false).matches(request().build())).isFalse();
  }

  @Test
  void anInvertedValueMatchesAnotherValue() {
    HeaderMatch notProd = new HeaderMatch("x-env", Optional.of(PROD), true, false);

    assertThat(notProd.matches(request().header("x-env", "dev").build())).isTrue();
    assertThat(notProd.matches(request().header("x-env", "prod").build())).isFalse();
  }

  @Test
  void anInvertedPresenceMeansAbsent() {
    HeaderMatch absent = new HeaderMatch("x-debug", Optional.empty(), true, false);

    assertThat(absent.matches(request().build())).isTrue();
    assertThat(absent.matches(request().header("x-debug", "1").build())).isFalse();
    assertThat(HeaderMatch.present("x-debug").matches(request().header("x-debug", "").build())).isTrue();
  }

  @Test
  void aMissingHeaderCanBeTreatedAsEmpty() {
    HeaderMatch emptyOrMissing = new HeaderMatch("x-env", Optional.of(new StringMatcher.Exact("", false)), false, true);

    assertThat(emptyOrMissing.matches(request().build())).isTrue();
    assertThat(new HeaderMatch("x-env", Optional.of(PROD), true, true).matches(request().build())).isTrue();
  }
}
