package dev.inmesh.control.analyze;

import java.util.Locale;

/** How much a finding matters; declared most severe first, as istioctl orders them. */
public enum Severity {
  ERROR, WARNING, INFO;

  /** Whether this is at least as severe as {@code threshold}. */
  public boolean atLeast(Severity threshold) {
    return compareTo(threshold) <= 0;
  }

  /** {@code Error}, {@code Warning}, {@code Info}: istioctl's spelling. */
  public String label() {
    return name().charAt(0) + name().substring(1).toLowerCase(Locale.ROOT);
  }

  /** Reads {@code error}, {@code Warning}, {@code INFO}… */
  public static Severity parse(String text) {
    try {
      return valueOf(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("severity must be Error, Warning or Info, got '" + text + "'");
    }
  }
}
