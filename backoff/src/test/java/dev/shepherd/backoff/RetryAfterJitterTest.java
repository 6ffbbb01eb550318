package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

class RetryAfterJitterTest {

  private static final RetryAfterJitter RULE =
      RetryAfterJitter.of(0.2, Duration.ofSeconds(1), Duration.ofMinutes(5));

  @Test
  void aFleetToldToComeBackIn30sSpreadsOver30To36s() {
    SplittableRandom random = new SplittableRandom(7);
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (int i = 0; i < 10_000; i++) {
      long wait = RULE.waitNanos(30_000_000_000L, random);
      min = Math.min(min, wait);
      max = Math.max(max, wait);
    }
    assertTrue(min >= 30_000_000_000L && max <= 36_000_000_000L, min + ".." + max);
    // 10,000 uniform draws over 6 s: the chance that none lands in the first or last 0.1 s is
    // 2·(1 − 1/60)^10000 < 1e-70.
    assertTrue(min < 30_100_000_000L && max > 35_900_000_000L, min + ".." + max);
  }

  @Test
  void aZeroHintIsSpreadByTheMinimumJitter() {
    assertEquals(1_000_000_000L, RULE.widthNanos(0));
    long wait = RULE.waitNanos(0, new SplittableRandom(1));
    assertTrue(wait >= 0 && wait <= 1_000_000_000L, Long.toString(wait));
  }

  @Test
  void hintsAreClampedToTheMaximumAndToZero() {
    assertEquals(Duration.ofMinutes(5).toNanos(), RULE.clampNanos(Long.MAX_VALUE));
    assertEquals(0, RULE.clampNanos(-5));
    long wait = RULE.waitNanos(Long.MAX_VALUE, new SplittableRandom(2));
    assertTrue(wait >= Duration.ofMinutes(5).toNanos() && wait <= Duration.ofMinutes(6).toNanos());
    Duration asDuration = RULE.wait(Duration.ofDays(3), new SplittableRandom(3));
    assertTrue(asDuration.compareTo(Duration.ofMinutes(5)) >= 0 && asDuration.compareTo(Duration.ofMinutes(6)) <= 0);
  }

  @Test
  void noJitterAtAllReturnsTheHintExactly() {
    RetryAfterJitter exact = RetryAfterJitter.of(0, Duration.ZERO, Duration.ofHours(1));
    assertEquals(42, exact.waitNanos(42, new SplittableRandom(4)));
  }

  @Test
  void saturatesInsteadOfOverflowing() {
    RetryAfterJitter huge = RetryAfterJitter.of(1e300, Duration.ZERO, Duration.ofSeconds(Long.MAX_VALUE));
    assertEquals(Long.MAX_VALUE, huge.widthNanos(Long.MAX_VALUE));
    assertEquals(Long.MAX_VALUE, huge.waitNanos(Long.MAX_VALUE, new SplittableRandom(5)));
  }

  @Test
  void badParametersAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RetryAfterJitter.of(-0.1, Duration.ZERO, Duration.ofSeconds(1)));
    assertEquals("spread must be zero or positive and finite: -0.1", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> RetryAfterJitter.of(Double.NaN, Duration.ZERO, Duration.ofSeconds(1)));
    assertEquals("spread must be zero or positive and finite: NaN", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> RetryAfterJitter.of(0.2, Duration.ofSeconds(-1), Duration.ofSeconds(1)));
    assertEquals("minJitter must be zero or positive: PT-1S", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> RetryAfterJitter.of(0.2, Duration.ZERO, Duration.ofSeconds(-1)));
    assertEquals("max must be zero or positive: PT-1S", e.getMessage());
  }

  @Property(seed = "20261121")
  void everyWaitLiesInItsStatedInterval(@ForAll long hint, @ForAll @DoubleRange(min = 0, max = 10) double spread,
      @ForAll long seed) {
    RetryAfterJitter rule = RetryAfterJitter.of(spread, Duration.ofMillis(500), Duration.ofHours(1));
    long h = rule.clampNanos(hint);
    long wait = rule.waitNanos(hint, new SplittableRandom(seed));
    if (wait < h || wait - h > rule.widthNanos(h) || h < 0 || h > Duration.ofHours(1).toNanos()) {
      throw new AssertionError("hint " + hint + " gave " + wait);
    }
  }
}
