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
  void anyDoubleRateIsReadAsAFractionThatRoundsBackToItOrWithinARelativeTwoToTheMinus59(
      @ForAll @DoubleRange(min = -8, max = 9) double exponent, @ForAll @DoubleRange(min = 1, max = 10) double mantissa) {
    double perSecond = Math.min(1e9, mantissa * Math.pow(10, exponent)); // log-uniform over 10^-8..10^9
    Rate r = Rate.perSecond(perSecond);
    assertEquals(1, Rate.gcd(r.scale, r.intervalUnits), "lowest terms");
    // Either the rate used rounds back to the very same double (the simplest fraction that does),
    // or its interval lies within a relative 2^-59 of the double's exact interval 10^9 / perSecond.
    double back = new BigDecimal(r.scale).multiply(BigDecimal.valueOf(1_000_000_000L))
        .divide(new BigDecimal(r.intervalUnits), new MathContext(60)).doubleValue();
    BigDecimal used = new BigDecimal(r.intervalUnits).divide(new BigDecimal(r.scale), new MathContext(60));
    BigDecimal meant = BigDecimal.valueOf(1_000_000_000L).divide(new BigDecimal(perSecond), new MathContext(60));
    BigDecimal relative = used.subtract(meant).abs().divide(meant, new MathContext(60));
    assertTrue(back == perSecond || relative.compareTo(BigDecimal.ONE.divide(BigDecimal.valueOf(2).pow(59))) < 0,
        () -> r + " for " + perSecond);
    assertEquals(back, r.permitsPerSecond(), r::toString);
  }

  /**
   * Issue 13: permitsPerSecond(999_999_937.0) was read as one per nanosecond (a scale cap of 2^20
   * made the simplest fraction, the integer itself, unusable), so a bucket driven every nanosecond
   * granted 63 permits a second too many. Every integer-valued rate is now read exactly.
   */
  @Property(tries = 2000)
  void everyIntegerValuedRateIsReadExactly(@ForAll @LongRange(min = 1, max = 1_000_000_000L) long n) {
    Rate r = Rate.perSecond((double) n);
    assertEquals(Rate.of(n, Duration.ofSeconds(1)), r);
    assertEquals(n + " per 1 s", r.toString());
    assertEquals((double) n, r.permitsPerSecond());
  }

  /** Every fraction p / q with q below 2048 (every decimal of up to three places among them) is exact. */
  @Property(tries = 2000)
  void everyFractionWithADenominatorBelow2048IsReadExactly(
      @ForAll @LongRange(min = 1, max = 2047) long q, @ForAll @LongRange(min = 1, max = 2_047_000_000_000L) long p) {
    if (p > 1_000_000_000L * q) {
      return; // faster than 10^9 per second
    }
    assertEquals(Rate.of(p, Duration.ofSeconds(q)), Rate.perSecond((double) p / q), () -> p + "/" + q);
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
  void aDecimalRateOfUpToThreePlacesIsReadExactly(@ForAll @LongRange(min = 1, max = 1_000_000_000_000L) long thousandths) {
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
