package dev.shepherd.ratelimit.redis;

import java.math.BigInteger;

/**
 * The reference model (the same as the local buckets' tests use): an ideal token bucket in exact
 * rational arithmetic, written as plainly as possible. Tokens are kept multiplied by the period T
 * (nanoseconds), so "P tokens per T ns" adds the integer P per nanosecond.
 */
final class IdealBucket {

  private final BigInteger p;
  private final BigInteger t;
  private final BigInteger capT;
  private BigInteger tokT;

  /** A full bucket of {@code burst} tokens refilling {@code permits} per {@code periodNanos}. */
  IdealBucket(long permits, long periodNanos, int burst) {
    this.p = BigInteger.valueOf(permits);
    this.t = BigInteger.valueOf(periodNanos);
    this.capT = BigInteger.valueOf(burst).multiply(t);
    this.tokT = capT;
  }

  /** Lets {@code nanos} pass (zero or more). */
  void advance(long nanos) {
    if (nanos < 0) {
      throw new IllegalArgumentException("time went backwards by " + (-nanos) + " ns");
    }
    tokT = tokT.add(BigInteger.valueOf(nanos).multiply(p)).min(capT);
  }

  /** Takes n tokens if there are n; returns whether it did. */
  boolean tryTake(int n) {
    BigInteger need = BigInteger.valueOf(n).multiply(t);
    if (tokT.compareTo(need) >= 0) {
      tokT = tokT.subtract(need);
      return true;
    }
    return false;
  }

  /**
   * Applies a reservation of n tokens granted with a wait of {@code waitNanos}: the request
   * arriving at now + wait, decided now (GCRA: TAT' = max(TAT, now + wait) + cost).
   */
  void reserve(long waitNanos, int n) {
    tokT = tokT.min(capT.subtract(BigInteger.valueOf(waitNanos).multiply(p))).subtract(BigInteger.valueOf(n).multiply(t));
  }

  /** The smallest whole number of nanoseconds after which n tokens will be there (0 if now). */
  long waitFor(int n) {
    BigInteger missing = BigInteger.valueOf(n).multiply(t).subtract(tokT);
    if (missing.signum() <= 0) {
      return 0;
    }
    BigInteger[] qr = missing.divideAndRemainder(p);
    return qr[0].add(qr[1].signum() > 0 ? BigInteger.ONE : BigInteger.ZERO).longValueExact();
  }

  /** The nanoseconds until the bucket is full again (0 if full). */
  long nanosUntilFull() {
    BigInteger missing = capT.subtract(tokT);
    if (missing.signum() <= 0) {
      return 0;
    }
    BigInteger[] qr = missing.divideAndRemainder(p);
    return qr[0].add(qr[1].signum() > 0 ? BigInteger.ONE : BigInteger.ZERO).longValueExact();
  }
}
