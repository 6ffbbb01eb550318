package dev.shepherd.ratelimit;

import java.math.BigInteger;

/**
 * The reference model: an ideal token bucket in exact rational arithmetic, written as plainly as
 * possible. Tokens are kept multiplied by the period T (so that "P tokens per T nanoseconds" adds
 * the integer P per nanosecond); the capacity is {@code capT / T} tokens, which need not be whole
 * (a leaky-bucket meter with tolerance L has capacity 1 + L / I, i.e. capT = T + L * P).
 */
final class IdealBucket {

  private final BigInteger p;
  private final BigInteger t;
  private final BigInteger capT;
  private BigInteger tokT;

  /** A bucket of {@code capT / periodNanos} tokens refilling {@code permits} per {@code periodNanos}. */
  IdealBucket(long permits, long periodNanos, BigInteger capT, boolean startFull) {
    this.p = BigInteger.valueOf(permits);
    this.t = BigInteger.valueOf(periodNanos);
    this.capT = capT;
    this.tokT = startFull ? capT : BigInteger.ZERO;
  }

  static IdealBucket tokenBucket(long permits, long periodNanos, int burst, boolean startFull) {
    return new IdealBucket(permits, periodNanos, BigInteger.valueOf(burst).multiply(BigInteger.valueOf(periodNanos)), startFull);
  }

  static IdealBucket meter(long permits, long periodNanos, long toleranceNanos) {
    BigInteger capT = BigInteger.valueOf(periodNanos).add(BigInteger.valueOf(toleranceNanos).multiply(BigInteger.valueOf(permits)));
    return new IdealBucket(permits, periodNanos, capT, true);
  }

  /** Lets {@code nanos} pass (zero or more). */
  void advance(long nanos) {
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

  /** Takes n tokens even if that leaves the bucket in debt (a reservation). */
  void take(int n) {
    tokT = tokT.subtract(BigInteger.valueOf(n).multiply(t));
  }

  /** The whole tokens in the bucket now (0 when in debt). */
  long whole() {
    return tokT.signum() <= 0 ? 0 : tokT.divide(t).longValueExact();
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
}
