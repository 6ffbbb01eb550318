package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** The rate arithmetic: lowest terms, and doubles read as the simplest fraction that rounds to them. */
class RateProperties {

  @Property(tries = 2000)
  void anyDoubleRateIsReadAsItsSimplestFractionOrWithin2ToTheMinus20Nanoseconds(
      @ForAll @DoubleRange(min = -8, max = 9) double exponent, @ForAll @DoubleRange(min = 1, max = 10) double mantissa) {
    double perSecond = Math.min(1e9, mantissa * Math.pow(10, exponent)); // log-uniform over 10^-8..10^9
    Rate r = Rate.perSecond(perSecond);
    assertEquals(1, Rate.gcd(r.scale, r.intervalUnits), "lowest terms");
    assertTrue(r.scale <= 1 << 20, r::toString);
    // Either the rate used rounds back to the very same double (the simplest fraction that does),
    // or its interval lies within 2^-20 ns of the double's exact interval 10^9 / perSecond.
    double back = new BigDecimal(r.scale).multiply(BigDecimal.valueOf(1_000_000_000L))
        .divide(new BigDecimal(r.intervalUnits), new MathContext(60)).doubleValue();
    BigDecimal used = new BigDecimal(r.intervalUnits).divide(new BigDecimal(r.scale), new MathContext(60));
    BigDecimal meant = BigDecimal.valueOf(1_000_000_000L).divide(new BigDecimal(perSecond), new MathContext(60));
    assertTrue(back == perSecond
        || used.subtract(meant).abs().compareTo(BigDecimal.ONE.divide(BigDecimal.valueOf(1 << 20))) <= 0,
        () -> r + " for " + perSecond);
  }

  @Property(tries = 1000)
  void aSimpleDoubleRateIsReadAsAFractionThatRoundsBackToTheSameDouble(
      @ForAll @IntRange(min = 1, max = 100_000) int numerator, @ForAll @IntRange(min = 1, max = 1000) int denominator) {
    double perSecond = (double) numerator / denominator;
    Rate r = Rate.perSecond(perSecond);
    // permits per second = scale * 10^9 / intervalUnits, computed with 60 digits, then rounded once.
    double back = new BigDecimal(r.scale).multiply(BigDecimal.valueOf(1_000_000_000L))
        .divide(new BigDecimal(r.intervalUnits), new MathContext(60)).doubleValue();
    assertEquals(perSecond, back, r::toString);
    // And it is numerator / denominator itself, the simplest such fraction.
    assertEquals(Rate.of(numerator, Duration.ofSeconds(denominator)), r);
  }

  @Property(tries = 500)
  void aDecimalRateIsReadExactly(@ForAll @IntRange(min = 1, max = 1_000_000) int thousandths) {
    Rate r = Rate.perSecond(thousandths / 1000.0);
    Rate exact = Rate.of(thousandths, Duration.ofSeconds(1000));
    assertEquals(exact, r);
  }

  @Property(tries = 1000)
  void anIntegerRateIsReducedToLowestTerms(
      @ForAll @LongRange(min = 1, max = 1_000_000_000L) long permits,
      @ForAll @LongRange(min = 1, max = 1_000_000_000_000L) long periodNanos) {
    if (permits > periodNanos) {
      return; // faster than one per nanosecond: refused, see TokenBucketTest
    }
    Rate r = Rate.of(permits, Duration.ofNanos(periodNanos));
    assertEquals(1, Rate.gcd(r.scale, r.intervalUnits));
    // Same ratio: scale / intervalUnits == permits / periodNanos.
    assertEquals(BigDecimal.valueOf(r.scale).multiply(BigDecimal.valueOf(periodNanos)),
        BigDecimal.valueOf(permits).multiply(BigDecimal.valueOf(r.intervalUnits)));
    assertTrue(r.intervalUnits >= r.scale, "at most one permit per nanosecond");
  }
}
