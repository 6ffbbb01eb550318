package dev.shepherd.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ChecksTest {

  private static void assertMessage(String expected, Executable check) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, check);
    assertEquals(expected, e.getMessage());
  }

  @Test
  void invalidNamesParameterRuleAndValue() {
    assertEquals("cap must be at least base: PT1S", Checks.invalid("cap", "at least base", Duration.ofSeconds(1)).getMessage());
  }

  @Test
  void positiveDurationRejectsZeroAndNegative() {
    assertMessage("base must be positive: PT0S", () -> Checks.positive(Duration.ZERO, "base"));
    assertMessage("base must be positive: PT-1S", () -> Checks.positive(Duration.ofSeconds(-1), "base"));
    Duration ok = Duration.ofMillis(1);
    assertSame(ok, Checks.positive(ok, "base"));
  }

  @Test
  void nullDurationNamesTheParameter() {
    NullPointerException e = assertThrows(NullPointerException.class, () -> Checks.positive((Duration) null, "cap"));
    assertEquals("cap", e.getMessage());
  }

  @Test
  void nonNegativeDurationAcceptsZero() {
    assertSame(Duration.ZERO, Checks.nonNegative(Duration.ZERO, "maxWait"));
    assertMessage("maxWait must be zero or positive: PT-0.001S", () -> Checks.nonNegative(Duration.ofMillis(-1), "maxWait"));
  }

  @Test
  void positiveNumbers() {
    assertMessage("permits must be positive: 0", () -> Checks.positive(0, "permits"));
    assertMessage("rate must be positive: -5", () -> Checks.positive(-5L, "rate"));
    assertEquals(3, Checks.positive(3, "permits"));
    assertEquals(3L, Checks.positive(3L, "rate"));
  }

  @Test
  void nonNegativeLong() {
    assertMessage("nanos must be zero or positive: -1", () -> Checks.nonNegative(-1L, "nanos"));
    assertEquals(0L, Checks.nonNegative(0L, "nanos"));
  }

  @Test
  void atLeast() {
    assertMessage("maxAttempts must be at least 1: 0", () -> Checks.atLeast(0, 1, "maxAttempts"));
    assertEquals(1, Checks.atLeast(1, 1, "maxAttempts"));
  }

  @Test
  void positiveFiniteRejectsNanInfinityZeroAndNegative() {
    assertMessage("multiplier must be positive and finite: NaN", () -> Checks.positiveFinite(Double.NaN, "multiplier"));
    assertMessage("multiplier must be positive and finite: Infinity", () -> Checks.positiveFinite(Double.POSITIVE_INFINITY, "multiplier"));
    assertMessage("multiplier must be positive and finite: 0.0", () -> Checks.positiveFinite(0.0, "multiplier"));
    assertMessage("multiplier must be positive and finite: -1.5", () -> Checks.positiveFinite(-1.5, "multiplier"));
    assertEquals(1.5, Checks.positiveFinite(1.5, "multiplier"));
  }

  @Test
  void inRangeIsClosedAndRejectsNan() {
    assertMessage("jitter must be in [0.0, 1.0]: 1.5", () -> Checks.inRange(1.5, 0, 1, "jitter"));
    assertMessage("jitter must be in [0.0, 1.0]: NaN", () -> Checks.inRange(Double.NaN, 0, 1, "jitter"));
    assertEquals(0.0, Checks.inRange(0.0, 0, 1, "jitter"));
    assertEquals(1.0, Checks.inRange(1.0, 0, 1, "jitter"));
  }

  @Test
  void notBlank() {
    assertMessage("name must be non-blank: \"  \"", () -> Checks.notBlank("  ", "name"));
    assertThrows(NullPointerException.class, () -> Checks.notBlank(null, "name"));
    assertEquals("connect", Checks.notBlank("connect", "name"));
  }

  @Test
  void checkThrowsOnlyWhenFalse() {
    Checks.check(true, "x", "fine", 1);
    assertMessage("base must be at most cap: PT2S", () -> Checks.check(false, "base", "at most cap", Duration.ofSeconds(2)));
  }

  @Test
  void messagesDoNotDependOnTheDefaultLocale() {
    // Surefire runs under Turkish, where "I".toLowerCase() is a dotless i; the messages must not care.
    assertMessage("jitter must be in [0.0, 1.0]: 1.5", () -> Checks.inRange(1.5, 0, 1, "jitter"));
    assertMessage("LIMIT must be positive: 0", () -> Checks.positive(0, "LIMIT"));
  }
}
