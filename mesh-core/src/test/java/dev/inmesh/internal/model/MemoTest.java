package dev.inmesh.internal.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoTest {
  @Test
  void computesEachInputOnceWhileItIsKept() {
    List<String> computed = new ArrayList<>();
    Memo<String, Integer> memo = new Memo<>(10, input -> {
      computed.add(input);
      return input.length();
    });

    assertThat(memo.apply("abc")).isEqualTo(3);
    assertThat(memo.apply(new String("abc"))).as("an equal input, not the same object").isEqualTo(3);
    assertThat(memo.apply("de")).isEqualTo(2);

    assertThat(computed).containsExactly("abc", "de");
  }

  @Test
  void pastItsBoundItForgetsEverythingAndStillAnswersRight() {
    List<Integer> computed = new ArrayList<>();
    Memo<Integer, String> memo = new Memo<>(3, input -> {
      computed.add(input);
      return "#" + input;
    });

    for (int i = 0; i < 10; i++) {
      assertThat(memo.apply(i)).isEqualTo("#" + i);
      assertThat(memo.size()).isBetween(1, 3);
    }
    assertThat(memo.apply(9)).as("the last input is still kept").isEqualTo("#9");
    assertThat(memo.apply(0)).as("an early input was forgotten and is computed again").isEqualTo("#0");

    assertThat(computed).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0);
  }

  @Test
  void refusesAFunctionThatReturnsNullAndABoundBelowOne() {
    Memo<String, String> memo = new Memo<>(2, input -> null);

    assertThatThrownBy(() -> memo.apply("x")).isInstanceOf(NullPointerException.class).hasMessageContaining("null");
    assertThatThrownBy(() -> new Memo<String, String>(0, input -> input)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bound of 0");
  }
}
